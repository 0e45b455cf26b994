"""The one error hierarchy of rayline.

Library code raises these with context; the CLI turns them into one line and an exit code.
"""

from __future__ import annotations


class RaylineError(Exception):
    """Base of every error rayline raises on purpose."""

    exit_code = 1


class ConfigError(RaylineError):
    """A setting, flag or settings file is invalid."""

    exit_code = 2


class InputError(RaylineError):
    """An input path, file, header or record cannot be used."""

    exit_code = 2


class NoDataError(RaylineError):
    """The inputs exist but hold no data rows."""

    exit_code = 3


class ClusterError(RaylineError):
    """Ray could not be started, reached or stopped."""

    exit_code = 4


class PipelineError(RaylineError):
    """A pipeline ran but its outputs do not reconcile with its inputs."""

    exit_code = 5
