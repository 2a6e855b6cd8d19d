/*
 * saved-v0.h - test helpers: version 0 blobs (schema-1 native layouts) of
 * the three saved kinds, for test_saved and test_store. Each appends the
 * blob of its record to `b` and returns 0, or -1 on oom.
 */
#ifndef TOCSIN_TEST_SAVED_V0_H
#define TOCSIN_TEST_SAVED_V0_H

#include "alerting/saved.h"
#include "lib/buf.h"

int tocsin_test_v0_alert(struct tocsin_buf *b, const struct tocsin_alert *a);
int tocsin_test_v0_incident(struct tocsin_buf *b, const struct tocsin_saved_incident *inc);
int tocsin_test_v0_service(struct tocsin_buf *b, const struct tocsin_saved_service *s);

#endif
