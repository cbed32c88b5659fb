// wasm-worker example activity plugin in C: checksums over bytes.
//
// The bindings in ../bindings/ are generated from ../wit/world.wit (`make c-bindings`); this
// file implements the exports they declare. Ownership follows the component model's C
// bindings: arguments belong to the callee (free them), results are freed by the generated
// post-return functions after the host has read them.

#include "../bindings/c_activity.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef exports_example_c_activity_checksums_digest_t digest_t;

// CRC-32 (IEEE 802.3, reflected, polynomial 0xEDB88320) with a table built on first use.
static uint32_t crc_table[256];
static bool crc_table_ready = false;

static uint32_t crc32(const uint8_t *data, size_t len) {
  if (!crc_table_ready) {
    for (uint32_t n = 0; n < 256; n++) {
      uint32_t c = n;
      for (int k = 0; k < 8; k++) {
        c = (c & 1) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
      }
      crc_table[n] = c;
    }
    crc_table_ready = true;
  }
  uint32_t c = 0xFFFFFFFFu;
  for (size_t i = 0; i < len; i++) {
    c = crc_table[(c ^ data[i]) & 0xFF] ^ (c >> 8);
  }
  return c ^ 0xFFFFFFFFu;
}

// Adler-32 (RFC 1950). Sums are reduced every 5552 bytes, the most that cannot overflow.
static uint32_t adler32(const uint8_t *data, size_t len) {
  uint32_t a = 1, b = 0;
  while (len > 0) {
    size_t n = len < 5552 ? len : 5552;
    len -= n;
    while (n--) {
      a += *data++;
      b += a;
    }
    a %= 65521u;
    b %= 65521u;
  }
  return (b << 16) | a;
}

static uint64_t fnv1a64(const uint8_t *data, size_t len) {
  uint64_t h = 0xcbf29ce484222325ull;
  for (size_t i = 0; i < len; i++) {
    h ^= data[i];
    h *= 0x100000001b3ull;
  }
  return h;
}

static digest_t digest_of(const uint8_t *data, size_t len) {
  digest_t d = {
      .length = len,
      .crc32 = crc32(data, len),
      .adler32 = adler32(data, len),
      .fnv1a64 = fnv1a64(data, len),
  };
  return d;
}

static void log_line(wasm_worker_plugin_log_level_t level, const char *text) {
  c_activity_string_t message;
  c_activity_string_set(&message, text);  // borrows `text`: nothing to free
  wasm_worker_plugin_log_log(level, &message);
}

void exports_example_c_activity_checksums_checksum(c_activity_list_u8_t *data, digest_t *ret) {
  *ret = digest_of(data->ptr, data->len);
  c_activity_list_u8_free(data);
}

bool exports_example_c_activity_checksums_verify_crc32(c_activity_list_u8_t *data, uint32_t expected,
                                                       digest_t *ret, c_activity_string_t *err) {
  digest_t d = digest_of(data->ptr, data->len);
  c_activity_list_u8_free(data);
  if (d.crc32 != expected) {
    char text[96];
    snprintf(text, sizeof text, "CRC-32 mismatch: expected %08x, got %08x over %llu bytes",
             (unsigned)expected, (unsigned)d.crc32, (unsigned long long)d.length);
    log_line(WASM_WORKER_PLUGIN_LOG_LEVEL_WARN, text);
    c_activity_string_dup(err, text);  // an owned copy: freed after the host reads it
    return false;
  }
  *ret = d;
  return true;
}

void exports_example_c_activity_checksums_checksum_chunks(c_activity_list_list_u8_t *chunks,
                                                          c_activity_string_t *maybe_label,
                                                          exports_example_c_activity_checksums_chunk_report_t *ret) {
  size_t n = chunks->len;
  digest_t *digests = n ? calloc(n, sizeof *digests) : NULL;
  ret->first_duplicate.is_some = false;
  for (size_t i = 0; i < n; i++) {
    const c_activity_list_u8_t *chunk = &chunks->ptr[i];
    digests[i] = digest_of(chunk->ptr, chunk->len);
    if (ret->first_duplicate.is_some) {
      continue;
    }
    // Equal digests are only a hint; equal bytes decide.
    for (size_t j = 0; j < i; j++) {
      const c_activity_list_u8_t *earlier = &chunks->ptr[j];
      if (digests[j].crc32 == digests[i].crc32 && earlier->len == chunk->len &&
          memcmp(earlier->ptr, chunk->ptr, chunk->len) == 0) {
        ret->first_duplicate.is_some = true;
        ret->first_duplicate.val = (uint32_t)i;
        break;
      }
    }
    // Long inputs: tell the server we are alive, and stop early when asked to.
    if (i % 1000 == 999) {
      wasm_worker_plugin_activity_heartbeat(NULL);
      if (wasm_worker_plugin_activity_is_cancelled()) {
        log_line(WASM_WORKER_PLUGIN_LOG_LEVEL_INFO, "cancelled; returning the digests so far");
        n = i + 1;
        break;
      }
    }
  }
  c_activity_list_list_u8_free(chunks);
  ret->digests.ptr = digests;
  ret->digests.len = n;
  // The label moves into the result: the post-return function frees it.
  if (maybe_label != NULL) {
    ret->label.is_some = true;
    ret->label.val = *maybe_label;
  } else {
    ret->label.is_some = false;
  }
}
