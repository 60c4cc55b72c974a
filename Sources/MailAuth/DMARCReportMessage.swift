// The email that carries one DMARC aggregate report to one `rua` destination (RFC 7489
// §7.2.1.1): From the report sender, To the destination, Subject "Report Domain: D
// Submitter: S Report-ID: <id>", Date, Message-ID, MIME-Version, a multipart/mixed body
// with a short text part and the gzipped XML as application/gzip, named
//   receiver "!" policy-domain "!" begin "!" end "!" unique-id ".xml.gz"
// Headers go through MailCore.HeaderText (the one header writer), so nothing from a
// DMARC record can start a header of its own. Output: CRLF bytes ready to queue.
import Foundation
import MailCore

public struct DMARCReportMessage: Sendable, Equatable {
    /// The complete message (headers and body), CRLF line ends.
    public var bytes: [UInt8]
    /// The attachment's file name.
    public var filename: String
    /// The gzip attachment's size before base64 (what `!size` limits are compared with
    /// is the whole message, `bytes.count`, the stricter reading).
    public var attachmentSize: Int

    /// Builds the message. `uniqueID` must be letters and digits (the filename's
    /// unique-id); `submitter` is our host name (the filename's receiver).
    public static func build(report: DMARCAggregateReport, gzippedXML: [UInt8], from sender: String,
                             to destination: String, submitter: String, uniqueID: String, messageID: String,
                             now: Double) -> DMARCReportMessage {
        let domain = report.policy.domain
        let m = report.metadata
        let safeID = String(uniqueID.unicodeScalars.filter { $0.isASCII && ($0.properties.isAlphabetic || ("0"..."9").contains($0)) })
        let filename = "\(fileSafe(submitter))!\(fileSafe(domain))!\(m.begin)!\(m.end)!\(safeID.isEmpty ? "0" : safeID).xml.gz"
        let boundary = "=_dmarc_\(safeID)_\(m.begin)"
        var head = ""
        head += HeaderText.line("From", "<\(sender)>")
        head += HeaderText.line("To", "<\(destination)>")
        head += HeaderText.line("Subject", "Report Domain: \(domain)",
                                continuations: ["Submitter: \(submitter)", "Report-ID: <\(m.reportID)>"])
        head += HeaderText.line("Date", MessageDate.rfc5322(now))
        head += HeaderText.line("Message-ID", "<\(messageID)>")
        head += HeaderText.line("MIME-Version", "1.0")
        head += HeaderText.line("Content-Type", "multipart/mixed; boundary=\"\(boundary)\"")
        head += "\r\n"
        var body = "This is a multi-part message in MIME format.\r\n\r\n"
        body += "--\(boundary)\r\n"
        body += HeaderText.line("Content-Type", "text/plain; charset=us-ascii")
        body += HeaderText.line("Content-Transfer-Encoding", "7bit")
        body += "\r\n"
        body += HeaderText.withoutControls("This is a DMARC aggregate report (RFC 7489) for \(domain)") + "\r\n"
        body += HeaderText.withoutControls("from \(submitter), covering \(MessageDate.rfc5322(Double(m.begin)))") + "\r\n"
        body += HeaderText.withoutControls("to \(MessageDate.rfc5322(Double(m.end))): \(report.messageCount) message(s) in \(report.records.count) record(s).") + "\r\n\r\n"
        body += "--\(boundary)\r\n"
        body += HeaderText.line("Content-Type", "application/gzip; name=\"\(filename)\"")
        body += HeaderText.line("Content-Transfer-Encoding", "base64")
        body += HeaderText.line("Content-Disposition", "attachment; filename=\"\(filename)\"")
        body += "\r\n"
        body += base64Lines(gzippedXML)
        body += "--\(boundary)--\r\n"
        return DMARCReportMessage(bytes: Array((head + body).utf8), filename: filename, attachmentSize: gzippedXML.count)
    }

    /// A domain name as a filename piece: the characters of domain names only.
    static func fileSafe(_ text: String) -> String {
        let kept = text.lowercased().unicodeScalars.filter {
            $0.isASCII && ($0.properties.isAlphabetic || ("0"..."9").contains($0) || $0 == "." || $0 == "-")
        }
        return kept.isEmpty ? "unknown" : String(String.UnicodeScalarView(kept))
    }

    /// Base64 in lines of 76 characters, each ending CRLF (RFC 2045 §6.8).
    static func base64Lines(_ bytes: [UInt8]) -> String {
        let text = Data(bytes).base64EncodedString(options: [.lineLength76Characters, .endLineWithCarriageReturn,
                                                             .endLineWithLineFeed])
        return text.isEmpty ? "" : text + "\r\n"
    }
}
