#ifndef MAILPLAN_CCURL_SHIM_H
#define MAILPLAN_CCURL_SHIM_H
#include <curl/curl.h>

/* curl_easy_setopt / curl_easy_getinfo are variadic and cannot be called from Swift:
   these typed wrappers are the only way the HTTP transport sets options. */
static inline CURLcode mp_curl_setopt_long(CURL *h, CURLoption o, long v) { return curl_easy_setopt(h, o, v); }
static inline CURLcode mp_curl_setopt_string(CURL *h, CURLoption o, const char *v) { return curl_easy_setopt(h, o, v); }
static inline CURLcode mp_curl_setopt_pointer(CURL *h, CURLoption o, void *v) { return curl_easy_setopt(h, o, v); }
static inline CURLcode mp_curl_setopt_slist(CURL *h, CURLoption o, struct curl_slist *v) { return curl_easy_setopt(h, o, v); }
static inline CURLcode mp_curl_setopt_off(CURL *h, CURLoption o, curl_off_t v) { return curl_easy_setopt(h, o, v); }
typedef size_t (*mp_curl_data_cb)(char *ptr, size_t size, size_t nmemb, void *userdata);
static inline CURLcode mp_curl_setopt_write_cb(CURL *h, CURLoption o, mp_curl_data_cb cb) { return curl_easy_setopt(h, o, cb); }
static inline CURLcode mp_curl_getinfo_long(CURL *h, CURLINFO i, long *v) { return curl_easy_getinfo(h, i, v); }
static inline CURLcode mp_curl_getinfo_double(CURL *h, CURLINFO i, double *v) { return curl_easy_getinfo(h, i, v); }
static inline CURLcode mp_curl_getinfo_string(CURL *h, CURLINFO i, char **v) { return curl_easy_getinfo(h, i, v); }
static inline CURLcode mp_curl_getinfo_certinfo(CURL *h, struct curl_certinfo **v) { return curl_easy_getinfo(h, CURLINFO_CERTINFO, v); }
/* CURLOPT_DEBUGFUNCTION: libcurl's informational text and protocol lines (CURLINFO_TEXT,
   CURLINFO_HEADER_IN...), e.g. "SSL connection using TLSv1.3 / TLS_AES_256_GCM_SHA384". */
typedef int (*mp_curl_debug_cb)(CURL *h, curl_infotype type, char *data, size_t size, void *userdata);
static inline CURLcode mp_curl_setopt_debug_cb(CURL *h, mp_curl_debug_cb cb) { return curl_easy_setopt(h, CURLOPT_DEBUGFUNCTION, cb); }
#endif
