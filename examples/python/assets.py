"""List a space's assets through the Mondoo Platform API (GraphQL), page by page.

    python examples/python/assets.py [--config PATH] [--space MRN] [--page-size N]

The credential is the config's service account (cnspec's search, or --config), or an
API token in $MONDOO_API_TOKEN; the space defaults to the config's. Prints one asset name
per line, then the total. Exits 2 when the call fails.
"""

from __future__ import annotations

import argparse
import sys

import mondoo

ASSETS = """query($space: String!, $first: Int, $after: String) {
  assets(spaceMrn: $space, first: $first, after: $after) {
    totalCount edges { node { mrn name } } pageInfo { endCursor hasNextPage } } }"""


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--config", help="config file (default: cnspec's search)")
    parser.add_argument("--space", help="the space's MRN (default: the config's)")
    parser.add_argument("--page-size", type=int, default=50, help="assets per request (default 50)")
    args = parser.parse_args()

    try:
        with mondoo.Client(args.config) as client:
            space = args.space or client.config.space_mrn
            if space is None:
                print("error: no space: pass --space", file=sys.stderr)
                return 2
            total = 0
            variables = {"space": space, "first": args.page_size}
            for page in client.paginate(ASSETS, variables, path="assets"):
                for edge in page["edges"]:
                    print(edge["node"]["name"])
                total = page["totalCount"]
    except mondoo.MondooError as e:  # GraphQLError for an answer with errors, RpcError for a 401, ...
        print(f"error: {e} ({e.code_name})", file=sys.stderr)
        return 2
    print(f"{total} assets in {space}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
