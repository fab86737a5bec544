"""One table of run sizes for every notebook: the ``quick`` profile (CPU, minutes) and the ``full``
profile (paper-size, meant for a GPU).

A notebook's ``parameters`` cell names only ``profile``, ``seed`` and ``device`` (plus optional
overrides); the sizes come from here through :func:`resolve`, which checks every value before any
work starts.
"""
from __future__ import annotations

import copy

PROFILE_NAMES = ("quick", "full")

# notebook stem -> profile -> settings. Integers are sizes/counts (must be >= 1 unless listed in
# _ZERO_OK), floats are rates (must be > 0).
PROFILES: dict[str, dict[str, dict]] = {
    "00_overview": {
        "quick": {"synthetic_users": 2_000, "synthetic_ads": 200, "synthetic_impressions": 50_000},
        "full": {"synthetic_users": 100_000, "synthetic_ads": 5_000, "synthetic_impressions": 2_000_000},
    },
    # --- notebooks of issue 3 add their entries below this line ---
    "smoke": {  # the tiny notebook the test-suite runs through papermill
        "quick": {"n": 10},
        "full": {"n": 1_000},
    },
}

_ZERO_OK = {"weight_decay", "dropout", "l2", "reg", "warmup_epochs"}


class ProfileError(ValueError):
    """An unknown profile, an unknown notebook or an invalid setting."""


def _check_value(key, value, notebook, profile):
    if isinstance(value, bool) or value is None or isinstance(value, (str, list, tuple, dict)):
        return
    if isinstance(value, (int, float)):
        lowest_ok = 0 if key in _ZERO_OK else None
        bad = value < 0 if lowest_ok == 0 else value <= 0
        if bad:
            need = ">= 0" if lowest_ok == 0 else "> 0"
            raise ProfileError(
                f"{notebook}: setting {key}={value!r} is invalid for profile {profile!r}: it must be {need}."
            )


def resolve(notebook: str, profile: str = "quick", **overrides) -> dict:
    """Settings of ``notebook`` under ``profile``, with non-None ``overrides`` applied and checked.

    Raises :class:`ProfileError` for an unknown profile or notebook, an override that names no
    setting, or a size that is not positive.
    """
    if profile not in PROFILE_NAMES:
        raise ProfileError(f"unknown profile {profile!r}; choose one of {', '.join(PROFILE_NAMES)}.")
    if notebook not in PROFILES:
        raise ProfileError(f"no profile table for notebook {notebook!r}; known: {', '.join(sorted(PROFILES))}.")
    settings = copy.deepcopy(PROFILES[notebook][profile])
    for key, value in overrides.items():
        if value is None:
            continue
        if key not in settings:
            raise ProfileError(
                f"{notebook}: unknown setting {key!r}; settings are {', '.join(sorted(settings))}."
            )
        if isinstance(settings[key], int) and not isinstance(settings[key], bool) and isinstance(value, float):
            if value != int(value):
                raise ProfileError(f"{notebook}: setting {key}={value!r} must be a whole number.")
            value = int(value)
        settings[key] = value
    for key, value in settings.items():
        _check_value(key, value, notebook, profile)
    return settings
