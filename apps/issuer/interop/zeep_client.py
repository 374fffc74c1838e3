#!/usr/bin/python3
"""An LCP holder written with python3-zeep, knowing nothing but the issuer's WSDL.

Pays with one certificate (transferFunds), then collects with another (getDeposits), and
prints one JSON object on stdout:

  {"client": "zeep 4.2.1",
   "transferFunds": {"result": "success", "fee": "1.2"},
   "getDeposits": {"deposits": [{"transactionId": "...", "amount": "100", ...}], "fee": "0", "balance": "100"}}

A SOAP fault is an answer too: the object then ends with {"fault": {"operation", "code", "message"}}
and the exit status is still 0. Anything else (TLS, HTTP, a missing module) exits non-zero.

  zeep_client.py --wsdl URL --ca FILE [--cert FILE --key FILE]
                 [--recipient ID --amount A --transaction-id T --counter N]
                 [--wait MS [--deposits-cert FILE --deposits-key FILE]]

Without --cert/--key no client certificate is presented (the issuer must refuse that).
getDeposits uses --deposits-cert/--deposits-key, or --cert/--key when those are not given.
Used by apps/issuer/src/interop.test.ts; needs Debian's python3-zeep (/usr/bin/python3).
"""
import argparse
import json
import sys

import requests
import zeep
from zeep import xsd
from zeep.exceptions import Fault
from zeep.helpers import serialize_object
from zeep.transports import Transport


def client(wsdl, ca, cert, key):
    session = requests.Session()
    # requests lets REQUESTS_CA_BUNDLE / CURL_CA_BUNDLE (set on many CI images) win over
    # session.verify (psf/requests#3829), and would route through *_PROXY: use only what we set.
    session.trust_env = False
    session.verify = ca
    if cert:
        session.cert = (cert, key)  # Ed25519 certificate and PKCS#8 key, loaded by OpenSSL 3
    # The service address (https://<domain>:<port>/lcp) comes from the WSDL.
    return zeep.Client(wsdl, transport=Transport(session=session, timeout=20, operation_timeout=20))


def deposit_list(deposits):
    """zeep reads an empty <deposits/> as None and a DepositList as {'deposit': [...]}."""
    if deposits is None:
        return []
    return [
        {name: value for name, value in serialize_object(d, dict).items() if value is not None}
        for d in (deposits["deposit"] or [])
    ]


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--wsdl", required=True)
    parser.add_argument("--ca", required=True)
    parser.add_argument("--cert")
    parser.add_argument("--key")
    parser.add_argument("--recipient")
    parser.add_argument("--amount")
    parser.add_argument("--transaction-id")
    parser.add_argument("--counter", type=int)
    parser.add_argument("--wait", type=int)
    parser.add_argument("--deposits-cert")
    parser.add_argument("--deposits-key")
    args = parser.parse_args()

    out = {"client": f"zeep {zeep.__version__}"}
    operation = None
    try:
        if args.recipient is not None:
            operation = "transferFunds"
            payer = client(args.wsdl, args.ca, args.cert, args.key)
            # zeep treats every RPC part as required ("Missing element userid"), whatever the
            # WSDL's documentation says; SkipValue leaves the element out of the body entirely.
            answer = payer.service.transferFunds(
                recipient=args.recipient,
                amount=args.amount,
                transactionId=args.transaction_id,
                messageCounter=args.counter,
                userid=xsd.SkipValue,
            )
            out[operation] = {"result": answer["result"], "fee": answer["fee"]}
        if args.wait is not None:
            operation = "getDeposits"
            payee = client(args.wsdl, args.ca, args.deposits_cert or args.cert, args.deposits_key or args.key)
            answer = payee.service.getDeposits(millisecondsWait=args.wait, acknowledge=xsd.SkipValue)
            out[operation] = {
                "deposits": deposit_list(answer["deposits"]),
                "fee": answer["fee"],
                "balance": answer["balance"],
            }
    except Fault as fault:
        out["fault"] = {"operation": operation, "code": fault.code, "message": fault.message}
    json.dump(out, sys.stdout)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
