"""`NAI_LOG`: an opt-in stderr handler on the `nai_sdk` logger, for a quick look without configuring logging.

The clients call `configure_from_env` when they are built, so importing nai_sdk costs nothing here, and nothing
happens unless the variable is set. Applications that configure logging themselves leave `NAI_LOG` unset and
configure the `nai_sdk` logger like any other (see docs/configuration.md, "Logging").
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Mapping
from typing import Final, TextIO

from nai_sdk.errors import ConfigurationError

__all__ = ["ENV_LOG", "LOGGER_NAME", "configure_from_env"]

#: `debug`, `info` or `warning`: the level of the `nai_sdk` logger, which then also writes to stderr.
ENV_LOG: Final = "NAI_LOG"
#: Every module of the SDK logs to this one logger.
LOGGER_NAME: Final = "nai_sdk"

_LEVELS: Final = {"debug": logging.DEBUG, "info": logging.INFO, "warning": logging.WARNING}
_FORMAT: Final = "%(asctime)s %(levelname)s %(name)s: %(message)s"


class _EnvHandler(logging.StreamHandler[TextIO]):
    """The handler `NAI_LOG` adds; its own class, so that building a second client does not add another."""


def configure_from_env(environ: Mapping[str, str]) -> None:
    """Applies `NAI_LOG` to the `nai_sdk` logger: its level, and one handler writing to stderr.

    Args:
        environ: the environment to read (`os.environ` in the clients).

    Raises:
        ConfigurationError: `NAI_LOG` is set to something other than `debug`, `info` or `warning`.
    """
    value = environ.get(ENV_LOG, "").strip().lower()
    if not value:
        return
    level = _LEVELS.get(value)
    if level is None:
        raise ConfigurationError(f"{ENV_LOG} must be one of {', '.join(_LEVELS)}, not {value!r}")
    logger = logging.getLogger(LOGGER_NAME)
    logger.setLevel(level)
    if not any(isinstance(handler, _EnvHandler) for handler in logger.handlers):
        handler = _EnvHandler(sys.stderr)
        handler.setFormatter(logging.Formatter(_FORMAT))
        logger.addHandler(handler)
