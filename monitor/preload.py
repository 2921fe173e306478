"""Imported by the worker pool's forkserver before it forks any worker (see
monitor.workers): loads the analysis code and its data once, so that every
worker starts warm and shares those memory pages."""

from .workers import freeze, warm_up

warm_up()
freeze()
