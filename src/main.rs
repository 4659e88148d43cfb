fn main() -> std::process::ExitCode {
    pi7::main()
}
