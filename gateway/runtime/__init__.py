"""The daemon's runtime: one clock (:mod:`gateway.runtime.clock`), the one wakeable service
loop and the runtime holding the loops by name (:mod:`gateway.runtime.loop`), and the small
pieces services share (:mod:`gateway.runtime.work`). This is the package's face: import
from ``gateway.runtime``."""

from gateway.runtime.clock import SYSTEM, Clock, SteppedClock, SystemClock, WallFunction, as_clock, wait_event
from gateway.runtime.loop import BaseService, Intervals, Loop, Runtime, Service
from gateway.runtime.work import Tasks, every, retry_store

__all__ = [
    "SYSTEM",
    "BaseService",
    "Clock",
    "Intervals",
    "Loop",
    "Runtime",
    "Service",
    "SteppedClock",
    "SystemClock",
    "Tasks",
    "WallFunction",
    "as_clock",
    "every",
    "retry_store",
    "wait_event",
]
