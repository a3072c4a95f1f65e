/* mhd-lazy.c - the libmicrohttpd.so.12 function table (see lazy.h). */
#define MHD_LAZY_NO_REDIRECT /* here the names are the real functions */
#include "mhd-lazy.h"

LAZY_DEFINE(MhdApi, mhd_api, "libmicrohttpd.so.12", MHD_LAZY_FUNCS)
