// crypt(3) from libxcrypt, reachable from Swift: Glibc does not export crypt.h.
#ifndef MAILGATE_CCRYPT_H
#define MAILGATE_CCRYPT_H
#include <stddef.h>

/// Hashes `phrase` with `setting` (a full hash or a prefix such as "$6$").
/// Writes a NUL-terminated result into `out` (capacity `outSize`).
/// Returns 0 on success, -1 when libcrypt refuses the setting.
int mailgate_crypt(const char *phrase, const char *setting, char *out, size_t outSize);

/// Generates a salt/setting string for `prefix` ("$6$", "$y$") with `count` (0 = default).
int mailgate_crypt_gensalt(const char *prefix, unsigned long count, char *out, size_t outSize);
#endif
