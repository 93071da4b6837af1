#!/usr/bin/python3
"""Check TLS-RPT report mails (RFC 8460) as a receiving domain would.

usage: tlsrpt_check.py --submitter HOST --key NAME=TXT ... \
        --expect 'DOMAIN TYPE OK FAIL [RESULT:COUNT:MX ...]' ... FILE...

Per mail: the RFC 5322 / MIME shape of 5.3 (Subject, TLS-Report-Domain,
TLS-Report-Submitter, multipart/report; report-type=tlsrpt, one
application/tlsrpt+gzip part named SUBMITTER!DOMAIN!START!END.json.gz), the
DKIM signature (dkimpy; keys from --key instead of DNS), the gzip, the JSON
against the schema of section 4 (jsonschema), and the counts against
--expect (one line per policy: every policy of the report must be expected,
every expected policy must be in a report). Prints "PASS what" or
"FAIL what: why" per check; exits 1 if anything failed.
"""
import argparse
import datetime
import email
import email.policy
import gzip
import json
import re
import sys

import dkim
import jsonschema

RESULTS = ["starttls-not-supported", "certificate-host-mismatch", "certificate-expired",
           "certificate-not-trusted", "validation-failure", "tlsa-invalid", "dnssec-invalid",
           "dane-required", "sts-policy-fetch-error", "sts-policy-invalid",
           "sts-webpki-invalid"]

# RFC 8460 4.3 / 4.4 as a JSON schema
SCHEMA = {
    "type": "object",
    "required": ["organization-name", "date-range", "contact-info", "report-id", "policies"],
    "additionalProperties": False,
    "properties": {
        "organization-name": {"type": "string", "minLength": 1},
        "contact-info": {"type": "string", "minLength": 1},
        "report-id": {"type": "string", "minLength": 1},
        "date-range": {
            "type": "object",
            "required": ["start-datetime", "end-datetime"],
            "additionalProperties": False,
            "properties": {
                "start-datetime": {"type": "string", "format": "date-time"},
                "end-datetime": {"type": "string", "format": "date-time"},
            },
        },
        "policies": {
            "type": "array", "minItems": 1,
            "items": {
                "type": "object",
                "required": ["policy", "summary"],
                "additionalProperties": False,
                "properties": {
                    "policy": {
                        "type": "object",
                        "required": ["policy-type", "policy-domain"],
                        "additionalProperties": False,
                        "properties": {
                            "policy-type": {"enum": ["tlsa", "sts", "no-policy-found"]},
                            "policy-string": {"type": "array", "items": {"type": "string"}},
                            "policy-domain": {"type": "string", "minLength": 1},
                            "mx-host": {"type": "array", "items": {"type": "string"}},
                        },
                    },
                    "summary": {
                        "type": "object",
                        "required": ["total-successful-session-count",
                                     "total-failure-session-count"],
                        "additionalProperties": False,
                        "properties": {
                            "total-successful-session-count": {"type": "integer", "minimum": 0},
                            "total-failure-session-count": {"type": "integer", "minimum": 0},
                        },
                    },
                    "failure-details": {
                        "type": "array",
                        "items": {
                            "type": "object",
                            "required": ["result-type", "failed-session-count"],
                            "additionalProperties": False,
                            "properties": {
                                "result-type": {"enum": RESULTS},
                                "sending-mta-ip": {"type": "string", "format": "ipv4"},
                                "receiving-ip": {"type": "string", "format": "ipv4"},
                                "receiving-mx-hostname": {"type": "string"},
                                "receiving-mx-helo": {"type": "string"},
                                "failed-session-count": {"type": "integer", "minimum": 1},
                                "additional-information": {"type": "string"},
                                "failure-reason-code": {"type": "string"},
                            },
                        },
                    },
                },
            },
        },
    },
}

failed = 0


def check(ok, what, why=""):
    global failed
    if ok:
        print("PASS " + what)
    else:
        failed += 1
        print("FAIL %s: %s" % (what, why))
    return ok


def parse_dt(s):
    return datetime.datetime.strptime(s, "%Y-%m-%dT%H:%M:%SZ").replace(
        tzinfo=datetime.timezone.utc)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--submitter", required=True)
    ap.add_argument("--key", action="append", default=[])
    ap.add_argument("--expect", action="append", default=[])
    ap.add_argument("files", nargs="+")
    a = ap.parse_args()
    keys = {}
    for k in a.key:
        name, _, txt = k.partition("=")
        keys[name.lower().rstrip(".") + "."] = txt.encode()

    def dnsfunc(name, timeout=5):
        if isinstance(name, bytes):
            name = name.decode()
        return keys.get(name.lower().rstrip(".") + ".", b"")

    expect = {}
    for e in a.expect:
        w = e.split()
        det = sorted(tuple(x.split(":")) for x in w[4:])
        expect[(w[0], w[1])] = (int(w[2]), int(w[3]), det)
    seen = set()
    fmt = jsonschema.FormatChecker()
    for f in a.files:
        raw = open(f, "rb").read()
        msg = email.message_from_bytes(raw, policy=email.policy.default)
        dom = str(msg.get("TLS-Report-Domain", ""))
        tag = dom or f
        m = re.fullmatch(r"Report Domain: (\S+) Submitter: (\S+) Report-ID: <([^>]+)>",
                         str(msg.get("Subject", "")))
        check(m is not None and m.group(1) == dom and m.group(2) == a.submitter,
              "%s: Subject, TLS-Report-Domain (5.3)" % tag, str(msg.get("Subject")))
        check(str(msg.get("TLS-Report-Submitter", "")) == a.submitter,
              "%s: TLS-Report-Submitter %s" % (tag, a.submitter),
              str(msg.get("TLS-Report-Submitter")))
        check(msg.get_content_type() == "multipart/report" and
              msg.get_param("report-type") == "tlsrpt",
              "%s: multipart/report; report-type=tlsrpt" % tag, msg.get("Content-Type"))
        # DKIM (dkimpy), keys from the command line
        try:
            v = dkim.verify(raw, dnsfunc=dnsfunc)
            sig = re.search(rb"\bd=([^;\s]+)", raw)
            check(v, "%s: DKIM signature verifies with dkimpy (d=%s)" %
                  (tag, sig.group(1).decode() if sig else "?"), "dkim.verify is False")
        except Exception as ex:  # noqa: BLE001
            check(False, "%s: DKIM signature verifies with dkimpy" % tag, repr(ex))
        parts = [p for p in msg.walk() if p.get_content_type() == "application/tlsrpt+gzip"]
        if not check(len(parts) == 1, "%s: one application/tlsrpt+gzip part" % tag,
                     "%d parts" % len(parts)):
            continue
        fn = parts[0].get_filename() or ""
        fm = re.fullmatch(re.escape(a.submitter) + "!" + re.escape(dom) +
                          r"!(\d+)!(\d+)\.json\.gz", fn)
        check(fm is not None, "%s: file name SUBMITTER!DOMAIN!START!END.json.gz (5.1)" % tag, fn)
        try:
            rep = json.loads(gzip.decompress(parts[0].get_content()))
        except Exception as ex:  # noqa: BLE001
            check(False, "%s: the attachment gunzips to JSON" % tag, repr(ex))
            continue
        check(True, "%s: the attachment gunzips to JSON" % tag)
        try:
            jsonschema.validate(rep, SCHEMA, format_checker=fmt)
            check(True, "%s: the report validates against the RFC 8460 4 schema" % tag)
        except jsonschema.ValidationError as ex:
            check(False, "%s: the report validates against the RFC 8460 4 schema" % tag,
                  ex.message)
            continue
        check(m is not None and rep["report-id"] == m.group(3),
              "%s: report-id is the Subject's Report-ID" % tag, rep["report-id"])
        t0 = parse_dt(rep["date-range"]["start-datetime"])
        t1 = parse_dt(rep["date-range"]["end-datetime"])
        check(t0.hour == t0.minute == t0.second == 0 and t0 <= t1 and
              (t1 - t0).total_seconds() < 86400 and fm is not None and
              int(fm.group(1)) == int(t0.timestamp()) and int(fm.group(2)) == int(t1.timestamp()),
              "%s: date-range within one UTC day from 00:00:00Z, as in the file name" % tag,
              json.dumps(rep["date-range"]) + " " + fn)
        for p in rep["policies"]:
            pd = p["policy"]
            k = (pd["policy-domain"], pd["policy-type"])
            seen.add(k)
            got = (p["summary"]["total-successful-session-count"],
                   p["summary"]["total-failure-session-count"],
                   sorted((d["result-type"], str(d["failed-session-count"]),
                           d.get("receiving-mx-hostname", "-"))
                          for d in p.get("failure-details", [])))
            check(pd["policy-domain"] == dom, "%s %s: policy-domain is the report's" % k)
            if k not in expect:
                check(False, "%s %s: an expected policy" % k, json.dumps(p))
                continue
            check(got == expect[k], "%s %s: %d successful, %d failed, details %s" %
                  (k + (expect[k][0], expect[k][1], expect[k][2])), json.dumps(p))
            if pd["policy-type"] == "sts" and "policy-string" in pd:
                check(pd["policy-string"][0] == "version: STSv1" and
                      any(x.startswith("mode: ") for x in pd["policy-string"]) and
                      pd.get("mx-host"),
                      "%s %s: policy-string and mx-host of the STS policy" % k, json.dumps(pd))
            for d in p.get("failure-details", []):
                # a failed TLS session names both ends (a policy failure
                # before any connection has none)
                if d["result-type"].startswith("certificate-") or d["result-type"] in (
                        "tlsa-invalid", "starttls-not-supported"):
                    check("sending-mta-ip" in d and "receiving-ip" in d,
                          "%s %s: %s names the sending and receiving IP" %
                          (k + (d["result-type"],)), json.dumps(d))
        if dom == "stsbadcert.dane":
            print("# the report of %s: %s" % (dom, json.dumps(rep)))
    for k in expect:
        check(k in seen, "%s %s: reported" % k, "no report has it")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
