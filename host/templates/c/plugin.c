// The `{{name}}` activity plugin. Build and publish: see README.md.
//
// bindings/ is generated from wit/ (`wasm-worker new` wrote it; after changing the WIT,
// regenerate it with `wasm-worker c-bindings wit {{name}} bindings`). Arguments belong to the
// callee (free them); results are freed by the generated post-return functions.

#include "../bindings/{{name_snake}}.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void exports_local_{{name_snake}}_activities_hello({{name_snake}}_string_t *name,
                                                  {{name_snake}}_string_t *ret) {
  const char *prefix = "Hello, ";
  size_t len = strlen(prefix) + name->len + 1;
  uint8_t *text = malloc(len);
  memcpy(text, prefix, strlen(prefix));
  memcpy(text + strlen(prefix), name->ptr, name->len);
  text[len - 1] = '!';
  ret->ptr = text;
  ret->len = len;
  {{name_snake}}_string_free(name);
}
