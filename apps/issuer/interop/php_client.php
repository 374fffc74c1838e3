<?php
// An LCP holder written with PHP's SoapClient (Debian's php-soap), knowing nothing but the
// issuer's WSDL. Pays with one certificate (transferFunds), then collects with another
// (getDeposits), and prints one JSON object on stdout:
//
//   {"client": "php-soap 8.2.x",
//    "transferFunds": {"result": "success", "fee": "1.2"},
//    "getDeposits": {"deposits": [{"transactionId": "...", "amount": "100", ...}], "fee": "0", "balance": "100"}}
//
// A SOAP fault from the issuer is an answer too: the object then ends with
// {"fault": {"operation", "code", "message"}} and the exit status is still 0. Anything else
// (TLS, HTTP, a WSDL that cannot be read) exits non-zero with the reason on stderr.
//
//   php php_client.php --wsdl URL --ca FILE [--peer-name NAME] [--cert FILE --key FILE]
//                      [--recipient ID --amount A --transaction-id T --counter N]
//                      [--wait MS [--deposits-cert FILE --deposits-key FILE]]
//
// Without --cert/--key no client certificate is presented (the issuer must refuse that).
// getDeposits uses --deposits-cert/--deposits-key, or --cert/--key when those are not given.
// --peer-name (the name the issuer's certificate must carry; also sent as SNI) defaults to
// the WSDL URL's host. Used by apps/issuer/src/interop.test.ts.

declare(strict_types=1);

error_reporting(E_ALL);
ini_set('display_errors', 'stderr');
ini_set('default_socket_timeout', '20'); // the read timeout of SoapClient's HTTP requests

// SoapClient turns a TLS failure into "HTTP: Could not connect to host" and keeps OpenSSL's
// reason in warnings: collect them for the error message.
$warnings = [];
set_error_handler(static function (int $level, string $message) use (&$warnings): bool {
    $warnings[] = $message;
    return true;
});

if (!extension_loaded('soap')) {
    fwrite(STDERR, "php_client.php: the soap extension is not loaded (Debian: apt-get install php-soap)\n");
    exit(2);
}

$options = getopt('', [
    'wsdl:', 'ca:', 'peer-name:', 'cert:', 'key:', 'recipient:', 'amount:', 'transaction-id:', 'counter:',
    'wait:', 'deposits-cert:', 'deposits-key:',
]);
if (!isset($options['wsdl'], $options['ca'])) {
    fwrite(STDERR, "usage: php php_client.php --wsdl URL --ca FILE [--cert FILE --key FILE] ... (see the header)\n");
    exit(2);
}
$peerName = $options['peer-name'] ?? (string) parse_url($options['wsdl'], PHP_URL_HOST);

function lcpClient(string $wsdl, string $ca, string $peerName, ?string $cert, ?string $key): SoapClient
{
    $ssl = ['cafile' => $ca, 'verify_peer' => true, 'verify_peer_name' => true, 'peer_name' => $peerName];
    if ($cert !== null) {
        $ssl['local_cert'] = $cert; // Ed25519 certificate, PKCS#8 key: OpenSSL 3 takes both
        $ssl['local_pk'] = $key;
    }
    return new SoapClient($wsdl, [
        'stream_context' => stream_context_create(['ssl' => $ssl]),
        'exceptions' => true,
        'cache_wsdl' => WSDL_CACHE_NONE,
        'trace' => true,
        'connection_timeout' => 10,
        // one <deposit> would otherwise come back as an object, two as an array
        'features' => SOAP_SINGLE_ELEMENT_ARRAYS,
    ]);
}

/** The deposits of a DepositList as plain arrays (an empty <deposits/> has no `deposit`). */
function depositList(mixed $deposits): array
{
    $list = [];
    foreach ((is_object($deposits) && isset($deposits->deposit)) ? $deposits->deposit : [] as $deposit) {
        $list[] = array_filter(get_object_vars($deposit), static fn ($value) => $value !== null);
    }
    return $list;
}

$out = ['client' => 'php-soap ' . PHP_VERSION];
$operation = null;
$current = null;
try {
    if (isset($options['recipient'])) {
        $operation = 'transferFunds';
        $current = lcpClient($options['wsdl'], $options['ca'], $peerName, $options['cert'] ?? null, $options['key'] ?? null);
        // RPC style: PHP fills the parts in WSDL order from the arguments' positions; names
        // (array keys, even SoapParam names) are ignored. The optional userid is left out, and
        // PHP sends it as an empty <userid/>, which the issuer reads as absent.
        $answer = $current->transferFunds(
            $options['recipient'],
            $options['amount'] ?? '',
            $options['transaction-id'] ?? '',
            (int) ($options['counter'] ?? 0),
        );
        // several output parts come back as an associative array of part name => value
        $out[$operation] = ['result' => $answer['result'], 'fee' => $answer['fee']];
    }
    if (isset($options['wait'])) {
        $operation = 'getDeposits';
        $current = lcpClient(
            $options['wsdl'],
            $options['ca'],
            $peerName,
            $options['deposits-cert'] ?? $options['cert'] ?? null,
            $options['deposits-key'] ?? $options['key'] ?? null,
        );
        $answer = $current->getDeposits((int) $options['wait']); // <acknowledge/> goes out empty
        $out[$operation] = [
            'deposits' => depositList($answer['deposits']),
            'fee' => $answer['fee'],
            'balance' => $answer['balance'],
        ];
    }
} catch (SoapFault $fault) {
    // only a fault the issuer sent is an answer; PHP's own (HTTP, WSDL, local) are failures
    if ($current === null || (string) $current->__getLastResponse() === '') {
        $reasons = $warnings === [] ? '' : "\n  " . implode("\n  ", $warnings);
        fwrite(STDERR, "php_client.php: {$fault->faultcode}: {$fault->getMessage()}{$reasons}\n");
        exit(1);
    }
    $out['fault'] = ['operation' => $operation, 'code' => $fault->faultcode, 'message' => $fault->faultstring];
}
echo json_encode($out, JSON_UNESCAPED_SLASHES | JSON_THROW_ON_ERROR), "\n";
