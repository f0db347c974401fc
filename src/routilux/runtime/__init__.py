"""The runtime: scheduler, executors and the handler-to-engine seam (``context``)."""
