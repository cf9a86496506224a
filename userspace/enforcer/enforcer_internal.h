/* What the enforcer's files share; not part of the API. */
#ifndef LW_ENFORCER_INTERNAL_H
#define LW_ENFORCER_INTERNAL_H

#include "enforcer/enforcer.h"

struct ring_buffer;
struct lockwarden_files_bpf;

struct lw_enforcer {
	char pin_dir[256];
	int leases_fd;		/* the pinned maps, adopted or created */
	int filter_fd;
	int counters_fd;
	int events_map_fd;
	__u32 filter_mask;	/* lease_filter entries - 1 */
	unsigned int max_images;
	struct ring_buffer *events;	/* NULL until lw_enforcer_events_fd() */
	lw_denial_fn event_fn;
	void *event_ctx;
	struct lockwarden_files_bpf *files;	/* the files iterator, loaded on first use */
	int files_link_fd;
	char error[256];
};

/* Record a one-line reason and return err (a negative errno). */
int lw_fail(struct lw_enforcer *enf, int err, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Read every record the files iterator gives for a query; *out is malloc'd. */
int lw_files_query(struct lw_enforcer *enf, enum lw_files_query query, __u32 tgid, __u32 fd,
		   const struct lw_image_key *key, struct lw_file_record **out, size_t *count);
void lw_files_close(struct lw_enforcer *enf);

/* Add delta to the lease filter slot of key. */
int lw_filter_add(struct lw_enforcer *enf, const struct lw_image_key *key, int delta);

void lw_events_close(struct lw_enforcer *enf);

#endif
