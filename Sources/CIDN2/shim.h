#ifndef MAILPLAN_CIDN2_SHIM_H
#define MAILPLAN_CIDN2_SHIM_H
#include <idn2.h>
#endif
