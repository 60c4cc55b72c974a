// libFuzzer target: what a DMARC record's `rua=` and a row's texts reach in the
// aggregate report path. DMARCReportURI.parseList (mailto URIs with "!size"), and the
// XML and message writers fed the input as domain, addresses and results. Checks besides
// "never crash": at most `maxURIs` destinations, each a plain address without control
// characters or angle brackets; the XML text holds no raw "<" or "&" of the input and no
// control character; the message's header block has no line the input started.
import MailAuth

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzDMARCReport(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let text = String(decoding: UnsafeBufferPointer(start: data, count: size), as: UTF8.self)
    let uris = DMARCReportURI.parseList(text)
    precondition(uris.count <= DMARCReportURI.maxURIs)
    for uri in uris {
        precondition(!uri.address.utf8.contains { $0 < 0x21 || $0 == 0x7F || $0 == UInt8(ascii: "<") || $0 == UInt8(ascii: ">") })
    }
    let escaped = DMARCReportXML.escaped(text)
    precondition(!escaped.contains("<") && !escaped.utf8.contains { $0 < 0x09 || ($0 > 0x0D && $0 < 0x20) })
    let row = DMARCReportRow(policyDomain: text, ruaURIs: [text], p: text, sourceIP: text, headerFrom: text,
                             envelopeFrom: text, envelopeTo: text, disposition: text, dkimAligned: false,
                             spfAligned: true, reasons: [text], dkim: [.init(domain: text, selector: text, result: text)],
                             spf: .init(domain: text, scope: text, result: text), time: 0)
    let metadata = DMARCAggregateReport.Metadata(orgName: text, email: text, extraContactInfo: text, reportID: text,
                                                 begin: 0, end: 1)
    guard let report = DMARCReportAggregator.report(rows: [(row, 1)], metadata: metadata) else { return 0 }
    _ = DMARCReportXML.document(report)
    let message = DMARCReportMessage.build(report: report, gzippedXML: Array(text.utf8.prefix(64)), from: text, to: text,
                                           submitter: text, uniqueID: text, messageID: text, now: 0)
    let rendered = String(decoding: message.bytes, as: UTF8.self)
    let head = rendered.components(separatedBy: "\r\n\r\n")[0]
    for line in head.components(separatedBy: "\r\n") {
        let name = line.prefix { $0 != ":" }
        precondition(line.hasPrefix("\t") || ["From", "To", "Subject", "Date", "Message-ID", "MIME-Version",
                                               "Content-Type"].contains(String(name)), line)
    }
    return 0
}
