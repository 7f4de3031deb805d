// The smallest program posix_spawn can start: the raw spawn figure's baseline. Linked
// statically when this machine has a static libc, so that no dynamic loader runs.
int main()
{
    return 0;
}
