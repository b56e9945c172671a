"""The call centre's defaults, named once; Settings reads the environment over them.

Code that has a Settings object passes its values down; these are only the
fallbacks of the data classes and functions that accept them.
"""

DEFAULT_REGION = "RU"  # numbers written without a country code
DEFAULT_TIMEZONE = "Europe/Moscow"  # the call centre's clock
