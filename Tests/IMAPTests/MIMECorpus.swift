// Real-world MIME shapes for the message-structure tests. Written with LF here;
// `MIMECorpus.bytes(_:)` turns them into the CRLF form the store holds.

enum MIMECorpus {
    static let plain = """
    Return-Path: <alice@example.org>
    Received: from mx.example.org (mx.example.org [192.0.2.1])
    \tby mail.example.com with ESMTP id 1234
    \tfor <bob@example.com>; Mon, 7 Feb 1994 21:52:25 -0800
    Date: Mon, 7 Feb 1994 21:52:25 -0800 (PST)
    From: Alice Example <alice@example.org>
    Subject: Plain text
     folded subject
    To: bob@example.com, "Carol, Q." <carol@example.net>
    Message-ID: <plain-1@example.org>

    Hello Bob,

    This is a plain message.

    """

    static let alternative = """
    From: "Shop" <news@shop.example>
    To: customer@example.com
    Subject: =?UTF-8?Q?Sp=C3=A9cial_offer?=
    Date: Tue, 01 Mar 2022 10:00:00 +0100
    Message-ID: <alt-1@shop.example>
    MIME-Version: 1.0
    Content-Type: multipart/alternative; boundary="----=_Part_0_12345.678"

    This is a multi-part message in MIME format.

    ------=_Part_0_12345.678
    Content-Type: text/plain; charset=UTF-8
    Content-Transfer-Encoding: quoted-printable

    Sp=C3=A9cial offer: 10% off=
     today only.

    ------=_Part_0_12345.678
    Content-Type: text/html; charset="utf-8"
    Content-Transfer-Encoding: 7bit

    <html><body><p>Special offer</p></body></html>

    ------=_Part_0_12345.678--

    epilogue text

    """

    static let mixed = """
    From: Dave <dave@example.com>
    To: Erin <erin@example.com>
    Cc: team: frank@example.com, grace@example.com;
    Subject: Report attached
    Date: Wed, 2 Mar 2022 09:15:00 +0000
    Message-ID: <mixed-1@example.com>
    In-Reply-To: <earlier@example.com>
    MIME-Version: 1.0
    Content-Type: multipart/mixed; boundary=outer42
    Content-Language: en

    --outer42
    Content-Type: text/plain; charset=us-ascii (plain text)

    See the report.
    --outer42
    Content-Type: application/pdf; name="report 2022.pdf"
    Content-Transfer-Encoding: base64
    Content-Disposition: attachment; filename="report 2022.pdf"; size=12
    Content-ID: <part2@example.com>
    Content-Description: Quarterly report

    JVBERi0xLjQKJcfsj6IK
    --outer42
    Content-Type: image/png
    Content-Transfer-Encoding: base64
    Content-Disposition: inline;
     filename*0*=UTF-8''%E2%82%AC%20rates;
     filename*1=".png"
    Content-Language: de, en-GB
    Content-Location: http://example.com/ rates.png

    iVBORw0KGgo=
    --outer42--

    """

    static let rfc822 = """
    From: Heidi <heidi@example.com>
    To: Ivan <ivan@example.com>
    Subject: Fwd: Lunch
    Date: Thu, 3 Mar 2022 12:00:00 +0000
    MIME-Version: 1.0
    Content-Type: multipart/mixed; boundary="fwd"

    --fwd
    Content-Type: text/plain

    Forwarding this.

    --fwd
    Content-Type: message/rfc822
    Content-Disposition: inline

    From: Judy <judy@example.com>
    To: Heidi <heidi@example.com>
    Subject: Lunch
    Date: Wed, 2 Mar 2022 11:00:00 +0000
    Message-ID: <lunch@example.com>
    Content-Type: multipart/alternative; boundary="inner"

    --inner
    Content-Type: text/plain; charset=utf-8

    Lunch at noon?
    --inner
    Content-Type: text/html; charset=utf-8

    <p>Lunch at noon?</p>
    --inner--

    --fwd--

    """

    static let signed = """
    From: Mallory <mallory@example.com>
    To: Niaj <niaj@example.com>
    Subject: Signed
    Date: Fri, 4 Mar 2022 08:00:00 +0000
    MIME-Version: 1.0
    Content-Type: multipart/signed; micalg=pgp-sha256;
     protocol="application/pgp-signature"; boundary="sig"

    --sig
    Content-Type: text/plain; charset=us-ascii
    Content-Transfer-Encoding: 7bit

    Signed text.

    --sig
    Content-Type: application/pgp-signature; name="signature.asc"
    Content-Description: OpenPGP digital signature
    Content-Disposition: attachment; filename="signature.asc"

    -----BEGIN PGP SIGNATURE-----
    iQEzBAEBCAAdFiEE
    -----END PGP SIGNATURE-----

    --sig--

    """

    static let noclose = """
    From: olivia@example.com
    Subject: No close delimiter
    Content-Type: multipart/mixed; boundary="b1"

    preamble
    --b1
    Content-Type: text/plain

    first
    --b1

    second has no header

    """

    static let badboundary = """
    From: peggy@example.com
    Subject: Boundary never used
    Content-Type: multipart/mixed; boundary="declared"

    --different
    Content-Type: text/plain

    body
    --different--

    """

    static let notype = """
    From: rupert@example.com
    To: undisclosed-recipients:;
    Subject: No content type

    Just text
    without a final newline
    """

    static let badtype = """
    From: sybil@example.com
    Subject: Broken type
    Content-Type: text
    Content-Transfer-Encoding: 8bit

    body

    """

    static let eightbit = """
    From: José García <jose@example.es>
    To: "Müller, Hans" <hans@example.de>
    Subject: Grüße aus München
    Content-Type: text/plain; charset=utf-8
    Content-Transfer-Encoding: 8bit

    Grüße!

    """

    static let digest = """
    From: list@example.com
    Subject: Digest
    Content-Type: multipart/digest; boundary="d"

    --d

    From: a@example.com
    Subject: one

    First.
    --d
    Content-Type: text/plain

    Not a message.
    --d--

    """

    static let names = ["plain", "alternative", "mixed", "rfc822", "signed", "noclose", "badboundary", "notype", "badtype", "eightbit", "digest"]
    static let all: [String: String] = ["plain": plain, "alternative": alternative, "mixed": mixed, "rfc822": rfc822, "signed": signed, "noclose": noclose, "badboundary": badboundary, "notype": notype, "badtype": badtype, "eightbit": eightbit, "digest": digest]

    /// The fixture with LF line ends turned into CRLF.
    static func bytes(_ text: String) -> [UInt8] {
        var out: [UInt8] = []
        for byte in text.utf8 {
            if byte == 10 { out.append(13) }
            out.append(byte)
        }
        return out
    }
}
