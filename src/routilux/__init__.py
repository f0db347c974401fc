"""routilux: a typed, graph-compiled, event-driven workflow engine.

Write :class:`Routine` subclasses with input slots and output events, wire them into a
:class:`Flow`, and run jobs sequentially or concurrently on a thread pool. Flows are validated
as a whole (``flow.validate()``) before any job runs.
"""

from routilux.binding import BindingKind, HandlerBinding
from routilux.compile.plan import CompiledFlow
from routilux.compile.validate import ValidationReport
from routilux.connection import Connection
from routilux.error_handler import ErrorHandler, ErrorStrategy
from routilux.errors import (
    ActivationLimitError,
    EventPayloadError,
    FlowValidationError,
    HandlerCallError,
    JobTimeoutError,
    MergeError,
    NotInJobError,
    Problem,
    RoutiluxError,
    SerializationError,
)
from routilux.event import Event
from routilux.execution_tracker import (
    ActivationRecord,
    DeliveryRecord,
    ExecutionTracker,
    FlowPerformance,
    RoutinePerformance,
)
from routilux.flow import Flow
from routilux.job_state import (
    DeferredEvent,
    ErrorRecord,
    ExecutionRecord,
    HeldActivation,
    JobState,
    JobStatistics,
    JobStatus,
    PausePoint,
    RoutineState,
)
from routilux.merge import MergeStrategy
from routilux.output import (
    CallbackOutputHandler,
    NullOutputHandler,
    OutputHandler,
    OutputRecord,
    QueueOutputHandler,
)
from routilux.registry import register_callable, register_exception, register_routine
from routilux.routine import Routine
from routilux.runtime.context import ExecutionContext
from routilux.slot import Slot

__version__ = "0.1.0"

__all__ = [
    "ActivationLimitError",
    "ActivationRecord",
    "BindingKind",
    "CallbackOutputHandler",
    "CompiledFlow",
    "Connection",
    "DeferredEvent",
    "DeliveryRecord",
    "ErrorHandler",
    "ErrorRecord",
    "ErrorStrategy",
    "Event",
    "EventPayloadError",
    "ExecutionContext",
    "ExecutionRecord",
    "ExecutionTracker",
    "Flow",
    "FlowPerformance",
    "FlowValidationError",
    "HandlerBinding",
    "HandlerCallError",
    "HeldActivation",
    "JobState",
    "JobStatistics",
    "JobStatus",
    "JobTimeoutError",
    "MergeError",
    "MergeStrategy",
    "NotInJobError",
    "NullOutputHandler",
    "OutputHandler",
    "OutputRecord",
    "PausePoint",
    "Problem",
    "QueueOutputHandler",
    "RoutiluxError",
    "Routine",
    "RoutinePerformance",
    "RoutineState",
    "SerializationError",
    "Slot",
    "ValidationReport",
    "__version__",
    "register_callable",
    "register_exception",
    "register_routine",
]
