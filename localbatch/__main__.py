"""`python -m localbatch up | down | status | env [--json] | kill-node POOL NODE |
preempt-node POOL NODE`: run the local Batch service."""

from __future__ import annotations

import argparse
import json
import os
import shlex
import sys

from .control import LocalBatchError, down, running, state_dir, trust_variables, up
from .killnode import kill_node
from .preempt import preempt_node

TWO_TARGETS = ("DefaultAzureCredential in this shell now signs in to localbatch; before you use "
               "it with Azure, unset IDENTITY_ENDPOINT IDENTITY_HEADER (or open a new shell).")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m localbatch", description=__doc__)
    parser.add_argument("--state-dir", help="state folder (default: $LOCALBATCH_HOME or "
                                            ".localbatch in the project)")
    sub = parser.add_subparsers(dest="command", required=True)
    start = sub.add_parser("up", help="start Azurite and the Batch service over https (if not "
                                      "running)")
    start.add_argument("--http", action="store_true",
                       help="serve plain http instead (no Microsoft Entra ID then)")
    sub.add_parser("down", help="stop them, task processes included")
    sub.add_parser("status", help="say what is running; exit 3 if not everything is")
    env = sub.add_parser("env", help="print the endpoints and keys as export lines")
    env.add_argument("--json", action="store_true", help="print JSON instead")
    kill = sub.add_parser("kill-node", help="kill a node's process, as a host failure would "
                                            "(local only, not a Batch operation)")
    kill.add_argument("pool", help="the pool's id")
    kill.add_argument("node", help="the node's id")
    preempt = sub.add_parser("preempt-node", help="take a Spot node back, as Azure may: its "
                                                  "running tasks are requeued (local only, not "
                                                  "a Batch operation)")
    preempt.add_argument("pool", help="the pool's id")
    preempt.add_argument("node", help="the Spot node's id")
    args = parser.parse_args(argv)
    state = state_dir(args.state_dir)
    try:
        if args.command == "up":
            endpoints = up(state, "http" if args.http else "https")
            print(f"localbatch is up (state in {state.path})\n"
                  f"  Batch: {endpoints['BATCH_ACCOUNT_URL']}  account "
                  f"{endpoints['BATCH_ACCOUNT_NAME']}\n"
                  f"  Blob:  {endpoints['STORAGE_BLOB_URL']}\n"
                  "  Keys:  python -m localbatch env"
                  + (f"\n  Autoscale clock: {state.time_scale():g}x faster than Azure's "
                     "(LOCALBATCH_TIME_SCALE)" if state.time_scale() != 1 else ""))
        elif args.command == "down":
            stopped = down(state)
            print("localbatch stopped: " + ", ".join(stopped) if stopped else
                  "localbatch was not running")
        elif args.command == "status":
            now = running(state)
            for name, alive in now.items():
                print(f"{name}: {'running' if alive else 'stopped'}")
            return 0 if all(now.values()) else 3
        elif args.command == "env":
            if not all(running(state).values()):
                raise LocalBatchError("localbatch is not running: start it with "
                                      "`python -m localbatch up`.")
            endpoints = {**state.endpoints(), **trust_variables(state, dict(os.environ))}
            if args.json:
                print(json.dumps(endpoints, indent=2))
            else:
                for name, value in endpoints.items():
                    print(f"export {name}={shlex.quote(value)}")
                if "IDENTITY_ENDPOINT" in endpoints:
                    print(f"# {TWO_TARGETS}")
        elif args.command == "kill-node":
            kill_node(state, args.pool, args.node)
            print(f"killed node {args.node} of pool {args.pool}: localbatch requeues its "
                  "running tasks and restarts it")
        elif args.command == "preempt-node":
            preempt_node(state, args.pool, args.node)
            print(f"preempted node {args.node} of pool {args.pool}: it stays preempted, and "
                  "localbatch requeues its running tasks")
    except LocalBatchError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
