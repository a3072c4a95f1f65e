/* mhd-lazy.h - libmicrohttpd (HTTP server: registry, API server), loaded on first use (see lazy.h).
 * Generated from the functions berth uses; add a function here when you start
 * using it. */
#ifndef BERTH_SHARED_MHD_LAZY_H
#define BERTH_SHARED_MHD_LAZY_H

#include <sys/types.h>
#include <sys/socket.h>
#include <stdarg.h>
#include <stdint.h>
#include <microhttpd.h>
#include "lazy.h"

#define MHD_LAZY_FUNCS(X) \
	X(MHD_add_response_header) \
	X(MHD_create_response_from_buffer) \
	X(MHD_create_response_from_callback) \
	X(MHD_create_response_from_fd_at_offset64) \
	X(MHD_create_response_for_upgrade) \
	X(MHD_destroy_response) \
	X(MHD_get_connection_info) \
	X(MHD_get_connection_values) \
	X(MHD_get_daemon_info) \
	X(MHD_is_feature_supported) \
	X(MHD_lookup_connection_value) \
	X(MHD_queue_response) \
	X(MHD_start_daemon) \
	X(MHD_stop_daemon) \
	X(MHD_upgrade_action)

typedef struct MhdApi {
	MHD_LAZY_FUNCS(LAZY_MEMBER)
} MhdApi;

const MhdApi *mhd_api(void);

#ifndef MHD_LAZY_NO_REDIRECT
#define MHD_add_response_header (mhd_api()->MHD_add_response_header)
#define MHD_create_response_from_buffer (mhd_api()->MHD_create_response_from_buffer)
#define MHD_create_response_from_callback (mhd_api()->MHD_create_response_from_callback)
#define MHD_create_response_from_fd_at_offset64 (mhd_api()->MHD_create_response_from_fd_at_offset64)
#define MHD_create_response_for_upgrade (mhd_api()->MHD_create_response_for_upgrade)
#define MHD_destroy_response (mhd_api()->MHD_destroy_response)
#define MHD_get_connection_info (mhd_api()->MHD_get_connection_info)
#define MHD_get_connection_values (mhd_api()->MHD_get_connection_values)
#define MHD_get_daemon_info (mhd_api()->MHD_get_daemon_info)
#define MHD_is_feature_supported (mhd_api()->MHD_is_feature_supported)
#define MHD_lookup_connection_value (mhd_api()->MHD_lookup_connection_value)
#define MHD_queue_response (mhd_api()->MHD_queue_response)
#define MHD_start_daemon (mhd_api()->MHD_start_daemon)
#define MHD_stop_daemon (mhd_api()->MHD_stop_daemon)
#define MHD_upgrade_action (mhd_api()->MHD_upgrade_action)
#endif

#endif
