// DNS queries through libresolv with a private resolver state per call (thread-safe),
// reachable from Swift: Glibc exposes neither resolv.h nor the res_n* macros.
#ifndef MAILGATE_CRESOLV_H
#define MAILGATE_CRESOLV_H

/// Outcome codes of mailgate_res_query (besides a positive answer length).
enum {
    MAILGATE_DNS_NXDOMAIN = -1,   // the name does not exist
    MAILGATE_DNS_NODATA = -2,     // the name exists, no record of that type
    MAILGATE_DNS_TEMPORARY = -3,  // timeout, SERVFAIL, no nameserver reachable
    MAILGATE_DNS_PERMANENT = -4,  // FORMERR, REFUSED, NOTIMP, a name libresolv refuses
    MAILGATE_DNS_INIT = -5        // res_ninit failed
};

/// Queries `name` for `type` (class IN) and writes the raw answer into `answer`.
/// `nameserver` (an IPv4 literal) and `port` override /etc/resolv.conf when
/// nameserver is non-NULL; `timeout` (seconds) and `attempts` when > 0.
/// Returns the answer length (> 0) or one of the MAILGATE_DNS_* codes.
int mailgate_res_query(const char *name, int type, const char *nameserver, int port,
                       int timeout, int attempts, unsigned char *answer, int answerSize);

#endif
