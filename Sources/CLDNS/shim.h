#ifndef MAILPLAN_CLDNS_SHIM_H
#define MAILPLAN_CLDNS_SHIM_H
/* stdbool first, or every ldns `bool` imports as Int8 */
#include <stdbool.h>
#include <stdio.h>
#if defined(__GLIBC__)
/* __fsetlocking: the zone-file reader's FILE is read by one thread only */
#include <stdio_ext.h>
#endif
#include <ldns/ldns.h>
#endif
