"""Imported by the worker pool's forkserver before it forks any worker (see
monitor.workers): loads the analysis code and its data once, so that every
worker starts warm and shares those memory pages."""

from .workers import die_with_parent, freeze, warm_up

die_with_parent()   # the forkserver goes with the monitor that started it
warm_up()
freeze()
