/* thread_count.h - the threads of this process, for the tests that check no
 * thread outlives the objects that started it (test_pool, test_threads). */
#ifndef SYN_TEST_THREAD_COUNT_H
#define SYN_TEST_THREAD_COUNT_H

#include <dirent.h>
#include <pthread.h>
#include <stddef.h>
#include <time.h>

/* Threads of this process, or -1 where /proc/self/task does not exist. */
static int count_threads(void)
{
    DIR *d = opendir("/proc/self/task");
    if (!d)
        return -1;
    int n = 0;
    for (struct dirent *e; (e = readdir(d));)
        n += e->d_name[0] != '.';
    closedir(d);
    return n;
}

/* The thread count once it is `want`, or what it still is after 2 s. A
 * thread that pthread_join has returned for can stay listed in
 * /proc/self/task for a moment (the kernel wakes the joiner before it
 * releases the task), which a loaded machine stretches: seen here at load
 * average 9. A thread that was not stopped stays listed, so a leak still
 * fails. */
static int threads_become(int want)
{
    int n = count_threads();
    for (int i = 0; i < 2000 && n != want; i++) {
        struct timespec ms = {0, 1000000};
        nanosleep(&ms, NULL);
        n = count_threads();
    }
    return n;
}

static void *nothing(void *arg)
{
    return arg;
}

/* Starts and joins one thread: a sanitizer runtime starts a helper thread of
 * its own with the first one (ThreadSanitizer does), which must be in every
 * baseline the leak checks compare with. */
static void settle_runtime_threads(void)
{
    pthread_t t;
    if (pthread_create(&t, NULL, nothing, NULL) == 0)
        pthread_join(t, NULL);
}

#endif
