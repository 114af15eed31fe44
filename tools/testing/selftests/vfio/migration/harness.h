/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Include the kselftest harness so that -Wall -Wextra stay quiet.
 *
 * The harness is not -Wextra clean: its timeout signal handler has an
 * unused parameter, and the TEST_F() wrapper keeps fork()'s result in a
 * local across setjmp() (-Wclobbered).  The latter is reported where
 * TEST_F() is expanded, so it stays off for the rest of the including
 * file; the tests themselves never use setjmp().
 */
#ifndef MIG_HARNESS_H
#define MIG_HARNESS_H

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wunused-parameter"
#include "kselftest_harness.h"
#pragma GCC diagnostic pop
#pragma GCC diagnostic ignored "-Wclobbered"

#endif /* MIG_HARNESS_H */
