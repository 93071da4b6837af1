"""Parse a zegel DSN with Python's email module and check it is an RFC 3464
report: multipart/report; report-type=delivery-status, three parts
(text/plain, message/delivery-status, text/rfc822-headers), per-recipient
fields. Usage: dsn_check.py FILE [RCPT ACTION STATUS]...  Exit 0 if fine."""
import email
import email.policy
import sys

raw = open(sys.argv[1], "rb").read()
msg = email.message_from_bytes(raw, policy=email.policy.default)
errs = []


def want(cond, what):
    if not cond:
        errs.append(what)


want(msg.get_content_type() == "multipart/report", "type %s" % msg.get_content_type())
want(msg.get_param("report-type") == "delivery-status", "report-type")
want(msg["From"].startswith("Mail Delivery System <MAILER-DAEMON@"), "From: %s" % msg["From"])
want(msg["Auto-Submitted"] == "auto-replied", "Auto-Submitted")
want(not msg.defects, "defects %r" % msg.defects)
parts = msg.get_payload()
want(isinstance(parts, list) and len(parts) == 3, "three parts")
if isinstance(parts, list) and len(parts) == 3:
    want(parts[0].get_content_type() == "text/plain", "part 1 text/plain")
    want(parts[1].get_content_type() == "message/delivery-status", "part 2 delivery-status")
    want(parts[2].get_content_type() == "text/rfc822-headers", "part 3 rfc822-headers")
    # message/delivery-status: a list of field blocks (per-message first)
    blocks = parts[1].get_payload()
    want(isinstance(blocks, list) and len(blocks) >= 2, "per-message + per-recipient blocks")
    if isinstance(blocks, list) and blocks:
        want(blocks[0]["Reporting-MTA"].startswith("dns; "), "Reporting-MTA")
        want(blocks[0]["Arrival-Date"] is not None, "Arrival-Date")
        got = {}
        for b in blocks[1:]:
            rcpt = str(b["Final-Recipient"]).split(";", 1)[1].strip()
            got[rcpt] = (str(b["Action"]), str(b["Status"]), b["Diagnostic-Code"] and str(b["Diagnostic-Code"]))
        args = sys.argv[2:]
        for i in range(0, len(args), 3):
            r, action, status = args[i:i + 3]
            want(r in got, "recipient %s reported (got %r)" % (r, list(got)))
            if r in got:
                want(got[r][0] == action, "%s Action %s != %s" % (r, got[r][0], action))
                want(got[r][1] == status, "%s Status %s != %s" % (r, got[r][1], status))
                want(got[r][2] is None or got[r][2].startswith("smtp; "), "Diagnostic-Code")
    hdrs = parts[2].get_payload()
    want(isinstance(hdrs, str) and "Subject:" in hdrs, "original headers included")
if errs:
    print("\n".join(errs))
    sys.exit(1)
