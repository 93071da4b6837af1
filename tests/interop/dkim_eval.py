#!/usr/bin/python3
"""Judge the verifiers' results for tests/interop/dkim.sh.

    dkim_eval.py RESULTS...      (files named <verifier>.<set>.txt)

Each result line: FILE <tab> INDEX <tab> SELECTOR <tab> pass|fail <tab> detail,
FILE named <message>.<h>-<b>.<set>.eml. Every signature must pass, except
where EXCEPTIONS below says a verifier fails for a stated reason. Prints
lines for the shell to turn into TAP:
    OK <tab> what
    NOTOK <tab> what <tab> detail
    SKIP <tab> what <tab> why          (an expected, documented exception)
A listed exception that does not happen is a failure (the list stays true).
"""
import collections
import os
import re
import sys

# (verifier, message regex, canonicalisation regex "<h>-<b>", selector regex,
#  why: the RFC section that decides it)
EXCEPTIONS = [
    ("maildkim", r".*", r".*", r"^ed$",
     "Mail::DKIM 1.20230212 implements rsa-sha1/rsa-sha256 only, not ed25519-sha256 "
     "(RFC 8463 §3); it reports 'unsupported algorithm'"),
    ("dkimpy", r"^wsp-before-colon-(space|tab)$", r".*", r".*",
     "dkimpy refuses 'Cc : ...' and 'Subject<TAB>: ...' as 'Unexpected characters in "
     "RFC822 header'; "
     "WSP before the colon is obsolete but valid syntax that MUST be accepted "
     "(RFC 5322 §4.5, §4 'obs-optional'), and relaxed canonicalisation deletes it "
     "(RFC 6376 §3.4.2)"),
    ("opendkim", r"^wsp-before-colon-tab$", r".*", r".*",
     "libopendkim rejects a header field with a TAB before the colon as a syntax error "
     "(a space there it accepts); "
     "that is valid obsolete syntax (RFC 5322 §4.5 'obs-optional', which parsers MUST "
     "accept per RFC 5322 §4) and RFC 6376 §3.4.2 defines its relaxed form"),
    ("opendkim", r"^bare-cr$", r"-relaxed$", r".*",
     "libopendkim computes another relaxed body hash when the body has a bare CR; RFC "
     "6376 §3.4.4 changes only WSP (SP, HTAB) and line ends, a bare CR is neither. "
     "dkimpy and Mail::DKIM "
     "agree with zegel. (RFC 5322 §2.3 forbids bare CR, so such mail is broken anyway)"),
    ("opendkim", r"^empty-body-no-blank-line$", r"^simple-", r".*",
     "libopendkim fails, with simple header canonicalisation, a message that ends after "
     "its header fields without the empty line (no body; RFC 5322 §3.5 makes '[CRLF "
     "body]' optional). Adding just the empty line (the same body hash: RFC 6376 §3.4.3 "
     "turns a missing body into one CRLF) makes it pass; dkimpy and Mail::DKIM accept "
     "both"),
]


def main():
    results = collections.defaultdict(list)  # (verifier, message) -> [(file, idx, sel, ok, d)]
    for path in sys.argv[1:]:
        verifier = os.path.basename(path).split(".")[0]
        with open(path, errors="replace") as f:
            for line in f:
                parts = line.rstrip("\n").split("\t")
                if len(parts) < 5:
                    print("NOTOK\t%s: malformed result line\t%s" % (verifier, line.strip()))
                    continue
                fname = os.path.basename(parts[0])
                m = re.match(r"^(.*)\.(simple|relaxed)-(simple|relaxed)\.(\w+)\.eml$", fname)
                if not m:
                    print("NOTOK\t%s: unexpected file name\t%s" % (verifier, fname))
                    continue
                msg, canon, sset = m.group(1), m.group(2) + "-" + m.group(3), m.group(4)
                results[(verifier, msg)].append(
                    (canon, sset, parts[1], parts[2], parts[3] == "pass", parts[4]))
    used = collections.Counter()
    for (verifier, msg), rows in sorted(results.items()):
        bad = []
        excused = collections.defaultdict(int)
        for canon, sset, idx, sel, ok, detail in rows:
            exc = None
            for i, (v, mre, cre, sre, why) in enumerate(EXCEPTIONS):
                if v == verifier and re.search(mre, msg) and re.search(cre, canon) and \
                        re.search(sre, sel):
                    exc = i
                    break
            if exc is not None:
                if ok:
                    bad.append("%s %s sig %s (%s): passes, but is listed as an exception "
                               "(remove it)" % (canon, sset, idx, sel))
                else:
                    excused[exc] += 1
                    used[exc] += 1
            elif not ok:
                bad.append("%s %s sig %s (%s): %s" % (canon, sset, idx, sel, detail))
        what = "%s verifies %s (%d signatures: 4 canonicalisations x RSA-1024/2048/4096 + " \
               "Ed25519, and dual RSA-2048+Ed25519)" % (verifier, msg, len(rows))
        if bad:
            print("NOTOK\t%s\t%s" % (what, "; ".join(bad[:8])))
        else:
            print("OK\t%s" % what)
        for exc, n in sorted(excused.items()):
            print("SKIP\t%s: %s, %d signature(s)\t%s" % (verifier, msg, n, EXCEPTIONS[exc][4]))
    for i, e in enumerate(EXCEPTIONS):
        if used[i] == 0:
            print("NOTOK\texception %d (%s, %s) never occurred\tremove it from the list"
                  % (i, e[0], e[1]))


if __name__ == "__main__":
    main()
