/*
 * mailbox.c: jobs handed from thread to thread without a lock.
 *
 * A mailbox is a lock-free stack (a Treiber stack) linked through the
 * jobs' own entry field.  Any thread posts, with one compare-and-swap; one
 * receiver takes everything at once with an exchange and reverses it into
 * posting order, so there is no ABA problem (nothing is ever popped one by
 * one).  Posting says whether the mailbox was empty: the receiver only
 * needs telling then, since until it takes, earlier posts have told it.
 * writer.c explains why no thread may wait for a lock the loop needs.
 */
#include <stdatomic.h>
#include <stdbool.h>

#include "pingan.h"

/*
 * Posts a job (sequentially consistent, like every atomic here).  Returns
 * true if the mailbox was empty: the receiver may need telling.
 */
bool
mailbox_post(struct mailbox *mb, struct wjob *job)
{
	struct wjob	*top = atomic_load(&mb->top);

	do
		STAILQ_NEXT(job, entry) = top;
	while (!atomic_compare_exchange_weak(&mb->top, &top, job));
	return top == NULL;
}

/*
 * Posts a list in its order, all at once (one at a time, the receiver
 * could take the first ones in between, and "was empty" would not hold
 * for the rest); empties the list.  True if the mailbox was empty.
 */
bool
mailbox_post_list(struct mailbox *mb, struct wjob_list *jobs)
{
	struct wjob	*job, *next, *chain = NULL, *bottom;
	struct wjob	*top;

	if ((bottom = STAILQ_FIRST(jobs)) == NULL)
		return false;
	for (job = bottom; job != NULL; job = next) {	/* reversed */
		next = STAILQ_NEXT(job, entry);
		STAILQ_NEXT(job, entry) = chain;
		chain = job;
	}
	STAILQ_INIT(jobs);
	top = atomic_load(&mb->top);
	do
		STAILQ_NEXT(bottom, entry) = top;
	while (!atomic_compare_exchange_weak(&mb->top, &top, chain));
	return top == NULL;
}

/* Takes every job posted so far, appending them to list in posting order. */
void
mailbox_take(struct mailbox *mb, struct wjob_list *list)
{
	struct wjob		*job, *next;
	struct wjob_list	 taken;

	STAILQ_INIT(&taken);
	for (job = atomic_exchange(&mb->top, NULL); job != NULL; job = next) {
		next = STAILQ_NEXT(job, entry);
		STAILQ_INSERT_HEAD(&taken, job, entry);
	}
	STAILQ_CONCAT(list, &taken);
}
