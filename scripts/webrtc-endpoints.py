#!/usr/bin/env python3
"""Print the pjsip.conf sections of the browser phones (issue 19) of the given extensions.

    scripts/webrtc-endpoints.py --secret "$PBXCRM_WEBRTC_SECRET" 101 102 > /etc/asterisk/pjsip_webrtc.conf

The passwords are derived from the secret (crm/webrtc/credentials.py), the one the CRM gives each
user's page: keep it equal to the CRM's PBXCRM_WEBRTC_SECRET. `--secret-file` reads it from a file.
Standard library only (scripts/sandbox.sh runs it with the system's python3).
"""

import argparse
import importlib.util
import pathlib
import sys

_here = pathlib.Path(__file__).resolve().parent.parent / "crm" / "webrtc" / "credentials.py"
_spec = importlib.util.spec_from_file_location("pbxcrm_webrtc_credentials", _here)
assert _spec and _spec.loader
credentials = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(credentials)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--secret")
    parser.add_argument("--secret-file")
    parser.add_argument("extensions", nargs="+")
    args = parser.parse_args(argv)
    secret = args.secret or (pathlib.Path(args.secret_file).read_text().strip() if args.secret_file else "")
    if not secret:
        parser.error("give --secret or --secret-file")
    try:
        sys.stdout.write(credentials.pjsip_sections(secret, args.extensions))
    except ValueError as e:
        parser.error(str(e))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
