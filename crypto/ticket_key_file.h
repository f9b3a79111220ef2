// ticket_key_file.h: the file of TLS session ticket keys that several fedgate
// instances share, so that a ticket one of them issued resumes on another.
//
// The format follows the conventions of HAProxy's tls-ticket-keys and nginx's
// ssl_session_ticket_key: each key is 80 random bytes, written in base64 on
// a line of its own; lines starting with '#' and empty lines are ignored. The
// key material is nginx's 80-byte layout:
//
//   bytes  0-15  key name (sent in the clear in every ticket, picks the key)
//   bytes 16-47  HMAC-SHA256 key (authenticates the ticket)
//   bytes 48-79  AES-256-CBC key (encrypts the session state)
//
// Keys are listed oldest first: the last key encrypts new tickets, the ones
// before it still decrypt tickets they issued, until rotation drops them.
// Writers replace the file atomically (a temporary file in the same
// directory, fsync, rename) with mode 0600.
#ifndef FEDGATE_CRYPTO_TICKET_KEY_FILE_H
#define FEDGATE_CRYPTO_TICKET_KEY_FILE_H

#include <stddef.h>
#include <stdint.h>

#define FG_TICKET_KEY_BYTES 80
#define FG_TICKET_KEY_NAME_BYTES 16
// FG_TICKET_KEYS_MAX bounds the keys of one file (rotation keeps a few).
#define FG_TICKET_KEYS_MAX 16
// FG_TICKET_KEYS_KEEP is how many keys rotation keeps by default.
#define FG_TICKET_KEYS_KEEP 3
// FG_TICKET_KEY_FILE_MAX bounds the size of a key file.
#define FG_TICKET_KEY_FILE_MAX 65536

typedef struct fg_ticket_key {
  uint8_t name[FG_TICKET_KEY_NAME_BYTES];
  uint8_t hmac_key[32];
  uint8_t aes_key[32];
} fg_ticket_key;

// fg_ticket_key_generate fills |out| with fresh random bytes. It returns 1 or 0.
int fg_ticket_key_generate(fg_ticket_key *out);

// fg_ticket_keys_parse reads a key file's contents |in| into |out| (room for
// |cap| keys), oldest first, and sets |*out_n|. It returns 1, or 0 with a
// reason in |err| naming the line ("line 3: ...") when a key is not base64 of
// exactly 80 bytes, two keys share a name, there is no key, or more than
// |cap| keys.
int fg_ticket_keys_parse(fg_ticket_key *out, size_t cap, size_t *out_n, const uint8_t *in,
                         size_t in_len, char *err, size_t err_len);

// fg_ticket_keys_read_file reads and parses |path|, a regular file of at
// most FG_TICKET_KEY_FILE_MAX bytes (anything else, a FIFO included, is
// refused without blocking). It returns 1, or 0 with "PATH: reason" in
// |err|.
int fg_ticket_keys_read_file(const char *path, fg_ticket_key *out, size_t cap, size_t *out_n,
                             char *err, size_t err_len);

// fg_ticket_keys_write_file replaces |path| atomically with |keys| (oldest
// first) in the documented format, mode 0600. It returns 1, or 0 with a
// reason in |err| (|path| is then unchanged).
int fg_ticket_keys_write_file(const char *path, const fg_ticket_key *keys, size_t n, char *err,
                              size_t err_len);

// fg_ticket_keys_file_new writes a file holding one fresh key. It refuses
// (returns 0) when |path| exists, so that a running key set is never
// replaced by mistake; rotate it instead. The file appears complete or not
// at all, and two at the same time write it once (a hard link from the
// temporary file, which never replaces).
int fg_ticket_keys_file_new(const char *path, char *err, size_t err_len);

// fg_ticket_keys_file_rotate adds a fresh newest key to |path| and drops the
// oldest keys beyond |keep| (1 to FG_TICKET_KEYS_MAX), atomically. Rotations
// at the same time take turns (an exclusive flock(2) on the file, taken again
// on the new file when one replaced it meanwhile), so each adds its key.
// Through a symbolic link, the file the link names is replaced. It
// returns 1, or 0 with a reason in |err| (an unreadable or malformed file is
// left as it is).
int fg_ticket_keys_file_rotate(const char *path, size_t keep, char *err, size_t err_len);

#endif  // FEDGATE_CRYPTO_TICKET_KEY_FILE_H
