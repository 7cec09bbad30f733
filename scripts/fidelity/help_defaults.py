#!/usr/bin/env python3
"""Compare the flag defaults two etcd binaries print in `etcd --help`.

Usage: help_defaults.py ETCD_A ETCD_B
Prints a Markdown table of every flag whose default differs, or that only one of them has.
etcd prints each flag as `  --name 'default'` (a few without the quotes, or without a default)
followed by its description.
"""
import re
import subprocess
import sys


def defaults(binary):
    text = subprocess.run([binary, "--help"], capture_output=True, text=True).stdout
    text += subprocess.run([binary, "--help"], capture_output=True, text=True).stderr
    flags = {}
    for line in text.splitlines():
        # `--flag 'default'`, `--flag default` (a few flags print it unquoted) or `--flag`.
        m = re.match(r"^  (--[a-z0-9-]+)(?: '(.*)'| (\S+))?$", line)
        if m:
            default = m.group(2) if m.group(2) is not None else m.group(3)
            flags[m.group(1)] = default if default is not None else "(switch)"
    return flags


def version(binary):
    out = subprocess.run([binary, "--version"], capture_output=True, text=True).stdout
    return out.splitlines()[0].replace("etcd Version: ", "")


def main():
    a, b = sys.argv[1], sys.argv[2]
    da, db = defaults(a), defaults(b)
    va, vb = version(a), version(b)
    print(f"| flag | {va} | {vb} |")
    print("| --- | --- | --- |")
    for flag in sorted(set(da) | set(db)):
        x, y = da.get(flag, "(none)"), db.get(flag, "(none)")
        if x != y:
            print(f"| `{flag}` | {x} | {y} |")


if __name__ == "__main__":
    main()
