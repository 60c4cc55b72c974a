// See cresolv.h. res_nquery uses only the res_state it is given, so each call builds
// its own (res_ninit) and closes it; no global resolver state is touched.
#include "cresolv.h"
#include <arpa/inet.h>
#include <arpa/nameser.h>
#include <netdb.h>
#include <netinet/in.h>
#include <resolv.h>
#include <string.h>

static int set_nameserver(res_state state, const char *nameserver, int port) {
    struct in_addr v4;
    struct in6_addr v6;
    if (inet_pton(AF_INET, nameserver, &v4) == 1) {
        memset(&state->nsaddr_list[0], 0, sizeof(state->nsaddr_list[0]));
        state->nsaddr_list[0].sin_family = AF_INET;
        state->nsaddr_list[0].sin_addr = v4;
        state->nsaddr_list[0].sin_port = htons((unsigned short)port);
        state->nscount = 1;
        return 0;
    }
    // IPv6 nameserver overrides would need glibc-private fields: not supported.
    (void)v6;
    return -1;
}

int mailgate_res_query(const char *name, int type, const char *nameserver, int port,
                       int timeout, int attempts, unsigned char *answer, int answerSize) {
    struct __res_state state;
    memset(&state, 0, sizeof(state));
    if (res_ninit(&state) != 0) return MAILGATE_DNS_INIT;
    if (nameserver != NULL && set_nameserver(&state, nameserver, port > 0 ? port : 53) != 0) {
        res_nclose(&state);
        return MAILGATE_DNS_INIT;
    }
    if (timeout > 0) state.retrans = timeout;
    if (attempts > 0) state.retry = attempts;
    // The names we query are absolute; never append search domains.
    state.options &= ~(RES_DEFNAMES | RES_DNSRCH);
    int length = res_nquery(&state, name, ns_c_in, type, answer, answerSize);
    int herr = state.res_h_errno;
    res_nclose(&state);
    if (length > 0) return length > answerSize ? answerSize : length;
    switch (herr) {
    case HOST_NOT_FOUND: return MAILGATE_DNS_NXDOMAIN;
    case NO_DATA: return MAILGATE_DNS_NODATA;
    case NO_RECOVERY: return MAILGATE_DNS_PERMANENT;
    default: return MAILGATE_DNS_TEMPORARY;
    }
}
