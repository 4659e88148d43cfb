// pi7 allocates many small values (JSON documents and events, SQL text):
// mimalloc does that in fewer instructions than the system allocator.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    pi7::main()
}
