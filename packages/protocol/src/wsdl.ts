// lcp.wsdl: identical for every issuer except the service element's address (paper, section 3).
// SOAP 1.1, RPC style, literal use. Operations are `transferFunds` and `getDeposits`; their
// messages carry the paper's names (transferFundsRequest, ...). See docs/protocol.md for why.

export const LCP_NAMESPACE = 'urn:lcp:v1';
export const LCP_SERVICE = 'LightweightCurrencyService';
export const LCP_PORT = 'LightweightCurrencyPort';
/** Where an issuer serves its WSDL over plain HTTP. */
export const WSDL_PATH = '/lcp.wsdl';
/** Where the SOAP endpoint listens over HTTPS by default. */
export const SOAP_PATH = '/lcp';

const escapeAttribute = (text: string): string =>
  text.replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;');

/** The WSDL document, with `address` (an https URL) as the only issuer-specific part. */
export function renderWsdl(address: string): string {
  if (!/^https:\/\/[^\s]+$/.test(address)) {
    throw new RangeError(`service address must be an https URL, got ${JSON.stringify(address)}`);
  }
  return `<?xml version="1.0" encoding="UTF-8"?>
<definitions name="LightweightCurrency"
    targetNamespace="${LCP_NAMESPACE}"
    xmlns="http://schemas.xmlsoap.org/wsdl/"
    xmlns:soap="http://schemas.xmlsoap.org/wsdl/soap/"
    xmlns:tns="${LCP_NAMESPACE}"
    xmlns:xsd="http://www.w3.org/2001/XMLSchema">
  <documentation>Lightweight Currency Protocol (Turner and Ross), version 1. The account is the
    TLS client certificate's public key. Elements marked "extension" are optional: a client
    that knows only the paper's messages omits them and ignores them in responses.</documentation>
  <types>
    <xsd:schema targetNamespace="${LCP_NAMESPACE}">
      <xsd:simpleType name="EntityId">
        <xsd:annotation><xsd:documentation>An Ed25519 public key, 64 lowercase hex characters.</xsd:documentation></xsd:annotation>
        <xsd:restriction base="xsd:string"><xsd:pattern value="[0-9a-f]{64}"/></xsd:restriction>
      </xsd:simpleType>
      <xsd:simpleType name="Amount">
        <xsd:annotation><xsd:documentation>An exact non-negative decimal, at most the currency's scale of fraction digits.</xsd:documentation></xsd:annotation>
        <xsd:restriction base="xsd:string"><xsd:pattern value="(0|[1-9][0-9]*)(\\.[0-9]+)?"/></xsd:restriction>
      </xsd:simpleType>
      <xsd:simpleType name="Balance">
        <xsd:annotation><xsd:documentation>An exact decimal; negative only for the issuer's treasury.</xsd:documentation></xsd:annotation>
        <xsd:restriction base="xsd:string"><xsd:pattern value="-?(0|[1-9][0-9]*)(\\.[0-9]+)?"/></xsd:restriction>
      </xsd:simpleType>
      <xsd:complexType name="Deposit">
        <xsd:sequence>
          <xsd:element name="transactionId" type="xsd:string"/>
          <xsd:element name="amount" type="tns:Amount"/>
          <xsd:element name="userid" type="xsd:string" minOccurs="0">
            <xsd:annotation><xsd:documentation>Extension: the userid the sender named (opaque banking).</xsd:documentation></xsd:annotation>
          </xsd:element>
          <xsd:element name="sequence" type="xsd:unsignedLong" minOccurs="0">
            <xsd:annotation><xsd:documentation>Extension: the deposit's number in the recipient's journal.</xsd:documentation></xsd:annotation>
          </xsd:element>
        </xsd:sequence>
      </xsd:complexType>
      <xsd:complexType name="DepositList">
        <xsd:sequence>
          <xsd:element name="deposit" type="tns:Deposit" minOccurs="0" maxOccurs="unbounded"/>
        </xsd:sequence>
      </xsd:complexType>
    </xsd:schema>
  </types>

  <message name="transferFundsRequest">
    <part name="recipient" type="tns:EntityId"/>
    <part name="amount" type="tns:Amount"/>
    <part name="transactionId" type="xsd:string"/>
    <part name="messageCounter" type="xsd:unsignedLong"/>
    <part name="userid" type="xsd:string">
      <documentation>Extension, optional: the recipient's customer name at a bank (opaque banking).</documentation>
    </part>
  </message>
  <message name="transferFundsResponse">
    <part name="result" type="xsd:string"/>
    <part name="fee" type="tns:Amount"/>
  </message>
  <message name="getDepositsRequest">
    <part name="millisecondsWait" type="xsd:unsignedLong"/>
    <part name="acknowledge" type="xsd:unsignedLong">
      <documentation>Extension, optional: every deposit up to this sequence was processed; deliver the ones after it.</documentation>
    </part>
  </message>
  <message name="getDepositsResponse">
    <part name="deposits" type="tns:DepositList"/>
    <part name="fee" type="tns:Amount"/>
    <part name="balance" type="tns:Balance"/>
  </message>

  <portType name="LightweightCurrencyPortType">
    <operation name="transferFunds">
      <input message="tns:transferFundsRequest"/>
      <output message="tns:transferFundsResponse"/>
    </operation>
    <operation name="getDeposits">
      <input message="tns:getDepositsRequest"/>
      <output message="tns:getDepositsResponse"/>
    </operation>
  </portType>

  <binding name="LightweightCurrencyBinding" type="tns:LightweightCurrencyPortType">
    <soap:binding style="rpc" transport="http://schemas.xmlsoap.org/soap/http"/>
    <operation name="transferFunds">
      <soap:operation soapAction="${LCP_NAMESPACE}#transferFunds"/>
      <input><soap:body use="literal" namespace="${LCP_NAMESPACE}"/></input>
      <output><soap:body use="literal" namespace="${LCP_NAMESPACE}"/></output>
    </operation>
    <operation name="getDeposits">
      <soap:operation soapAction="${LCP_NAMESPACE}#getDeposits"/>
      <input><soap:body use="literal" namespace="${LCP_NAMESPACE}"/></input>
      <output><soap:body use="literal" namespace="${LCP_NAMESPACE}"/></output>
    </operation>
  </binding>

  <service name="${LCP_SERVICE}">
    <port name="${LCP_PORT}" binding="tns:LightweightCurrencyBinding">
      <soap:address location="${escapeAttribute(address)}"/>
    </port>
  </service>
</definitions>
`;
}
