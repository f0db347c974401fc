"""The compiler: a flow's routines and connections -> a checked graph -> a frozen plan."""
