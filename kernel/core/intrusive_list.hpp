// The model's intrusive lists (a device's hardware connections, a user's app
// sessions): a node links itself in at the head and out in O(1), with no
// allocation, through its own prev/next members.
#pragma once

namespace blynk::core {

template <class Node>
void link_front(Node*& head, Node& n, Node* Node::*prev, Node* Node::*next) {
    n.*prev = nullptr;
    n.*next = head;
    if (head) head->*prev = &n;
    head = &n;
}

template <class Node>
void unlink(Node*& head, Node& n, Node* Node::*prev, Node* Node::*next) {
    if (n.*prev)
        (n.*prev)->*next = n.*next;
    else
        head = n.*next;
    if (n.*next) (n.*next)->*prev = n.*prev;
    n.*prev = n.*next = nullptr;
}

}  // namespace blynk::core
