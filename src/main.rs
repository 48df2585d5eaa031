fn main() {
    println!("recfuse");
}
