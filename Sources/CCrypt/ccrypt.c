// Thin wrappers over libxcrypt's reentrant API; crypt_data is 32 KiB so it is heap-allocated.
#include "ccrypt.h"
#include <crypt.h>
#include <stdlib.h>
#include <string.h>

int mailgate_crypt(const char *phrase, const char *setting, char *out, size_t outSize) {
    struct crypt_data *data = calloc(1, sizeof(struct crypt_data));
    if (!data) return -1;
    const char *result = crypt_r(phrase, setting, data);
    int rc = -1;
    if (result && result[0] != '*' && strlen(result) < outSize) {
        strcpy(out, result);
        rc = 0;
    }
    explicit_bzero(data, sizeof(struct crypt_data));
    free(data);
    return rc;
}

int mailgate_crypt_gensalt(const char *prefix, unsigned long count, char *out, size_t outSize) {
    const char *r = crypt_gensalt_rn(prefix, count, NULL, 0, out, (int)outSize);
    return r ? 0 : -1;
}
