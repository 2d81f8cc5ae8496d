#ifndef KEYGATE_CLIBXML2_SHIM_H
#define KEYGATE_CLIBXML2_SHIM_H

#include <libxml/xmlversion.h>
/* Debian's libxml2 is built with ICU; its headers would then pull in the
 * system ICU, whose UErrorCode clashes with the ICU inside Foundation on a
 * clean build. The catalog never needs libxml2's ICU encoders. */
#undef LIBXML_ICU_ENABLED

#include <libxml/parser.h>
#include <libxml/parserInternals.h>
#include <libxml/tree.h>
#include <libxml/xmlerror.h>
#include <libxml/xmlschemas.h>

#endif
