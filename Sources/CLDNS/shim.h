#ifndef MAILPLAN_CLDNS_SHIM_H
#define MAILPLAN_CLDNS_SHIM_H
/* stdbool first, or every ldns `bool` imports as Int8 */
#include <stdbool.h>
#include <stdio.h>
#include <ldns/ldns.h>
#endif
