fn main() {
    eprintln!("lwm: not wired yet");
    std::process::exit(2);
}
