# Allocation-heavy, deterministic Perl workload for the real-program test:
# a large hash of strings of many lengths, strings grown by appending
# (reallocations), nested arrays, sorting and splitting. Prints checksums;
# the output must be identical with and without the preload. Uses no modules
# beyond the core language, so perl-base is enough.
use strict;
use warnings;

my $seed = 12345;
sub next_random {
    $seed = ($seed * 1103515245 + 12345) % 2147483648;
    return $seed;
}

my %table;
for my $i (1 .. 120000) {
    my $length = next_random() % 1000 < 950 ? next_random() % 200 : next_random() % 40000;
    $table{"key$i-" . next_random()} = chr(65 + $i % 26) x $length;
}
my @keys = sort keys %table;
my $checksum = 0;
$checksum = ($checksum + unpack("%32C*", $table{$_})) % 4294967296 for @keys[ map { $_ * 97 } 0 .. 1000 ];

my $grown = "";
for my $i (1 .. 50000) {
    $grown .= "piece$i," x (1 + next_random() % 5);
}
my @pieces = split /,/, $grown;
my @nested = map { [ ($_) x (1 + length($_) % 7) ] } @pieces[ 0 .. 40000 ];
my @by_length = sort { length($a) <=> length($b) or $a cmp $b } @pieces;
delete @table{ @keys[ grep { $_ % 2 } 0 .. $#keys ] };

print "keys: ", scalar(@keys), " left: ", scalar(keys %table), "\n";
print "pieces: ", scalar(@pieces), " nested: ", scalar(@nested), "\n";
print "first: $by_length[0] last: $by_length[-1]\n";
print "checksum: $checksum grown: ", unpack("%32C*", $grown), "\n";
