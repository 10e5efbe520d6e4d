"""Print `cnspec status` for this machine's mondoo config, like the CLI does.

    python examples/python/status.py [--config PATH] [--json]

Exits 0 when the client is registered and authenticated, 1 otherwise, 2 when the
config cannot be used.
"""

from __future__ import annotations

import argparse
import json
import sys

import mondoo


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--config", help="config file (default: cnspec's search)")
    parser.add_argument("--json", action="store_true", help="print the status as JSON")
    args = parser.parse_args()

    try:
        config = mondoo.Config.load(args.config)
        with mondoo.Client(config) as client:
            status = client.status()
    except mondoo.MondooError as e:
        print(f"error: {e} ({e.code_name})", file=sys.stderr)
        return 2

    if args.json:
        print(json.dumps(status.to_dict(), indent=2))
    else:
        print(status, end="")
    return status.exit_code


if __name__ == "__main__":
    sys.exit(main())
