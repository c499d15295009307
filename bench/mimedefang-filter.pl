# mimedefang-filter.pl - the peer for bench/peers.sh: MIMEDefang doing our
# job in its own idiom.  Every application/(x-)pkcs7-signature part is
# dropped (MIMEDefang then rebuilds the message and replaces the body),
# and every message gets the journal recipient.  Perl, as MIMEDefang
# filters are; loaded by mimedefang.pl through mimedefang-multiplexor -F.

sub filter_begin {
    my ($entity) = @_;
}

sub filter {
    my ($entity, $fname, $ext, $type) = @_;
    $type = lc($type);
    if ($type eq 'application/pkcs7-signature' or $type eq 'application/x-pkcs7-signature') {
        return action_drop();
    }
    return action_accept();
}

sub filter_multipart {
    my ($entity, $fname, $ext, $type) = @_;
    return action_accept();
}

sub filter_end {
    my ($entity) = @_;
    add_recipient('<journal@archive.example>');
}

1;
