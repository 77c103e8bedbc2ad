#ifndef CASELLA_IMAP_STRUCTURE_H
#define CASELLA_IMAP_STRUCTURE_H

#include <stdbool.h>
#include <stddef.h>

struct arena;
struct mime_part;
struct str;

/*
 * Writes the RFC 9051 7.5.2 ENVELOPE list of a message header (hdr_len
 * bytes, as sized by header_size()) to out: date, subject, from, sender,
 * reply-to, to, cc, bcc, in-reply-to, message-id.  Header values go out
 * raw (no RFC 2047 decoding); 8-bit text is quoted only if utf8.
 */
void envelope_write(struct str *out, const char *hdr, size_t hdr_len,
                    bool utf8);

/*
 * Writes the RFC 9051 7.5.2 BODYSTRUCTURE of part (from mime_parse()),
 * or with extended false the non-extensible BODY form.  Temporary memory
 * comes from arena.
 */
void bodystructure_write(struct str *out, struct arena *arena,
                         const struct mime_part *part, bool extended,
                         bool utf8);

#endif
