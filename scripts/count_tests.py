#!/usr/bin/env python3
"""Counts passed and failed test cases in Bazel's JUnit XML files.

Usage: count_tests.py TESTLOGS_DIR //pkg:target ...   prints "PASSED FAILED".
A target without a test.xml (it failed to build) counts as one failure.
"""
import os
import sys
import xml.etree.ElementTree as ET


def count(xml_path):
    passed = failed = 0
    root = ET.parse(xml_path).getroot()
    for case in root.iter("testcase"):
        if case.get("status") == "notrun" or case.find("skipped") is not None:
            continue
        if case.find("failure") is not None or case.find("error") is not None:
            failed += 1
        else:
            passed += 1
    if passed == 0 and failed == 0:
        # A crashed or timed-out target: Bazel writes a suite with errors/failures attributes.
        for suite in root.iter("testsuite"):
            if int(suite.get("failures", 0)) or int(suite.get("errors", 0)):
                failed += 1
    return passed, failed


def main():
    logs, targets = sys.argv[1], sys.argv[2:]
    passed = failed = 0
    for t in targets:
        pkg, _, name = t.lstrip("/").partition(":")
        path = os.path.join(logs, pkg, name, "test.xml")
        if not os.path.exists(path):
            failed += 1
            continue
        p, f = count(path)
        passed += p
        failed += f
    print(passed, failed)


if __name__ == "__main__":
    main()
