fn main() -> std::process::ExitCode {
    brrt::run()
}
